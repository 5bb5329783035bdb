"""Claims' extra experiments: what is not a recipe comparison (a convex solver, an exact-Hessian
analysis, a deterministic L-BFGS comparison), one module per experiment.

An extra runs what its claim's folder does not hold yet (so it resumes), writes its results
there as they finish, and reports from them alone.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> ExtraContext(Preset.SMOKE, None, Path(".")).jobs
    1
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from boostprop.bench.document import Block
from boostprop.bench.presets import Preset


@dataclass
class ExtraContext:
    """Where and how a claim's extra experiments run: the preset, the claim's sizes under it,
    the claim's own folder inside the results folder, and the parallelism allowed."""

    preset: Preset
    sizes: Any
    out_dir: Path
    jobs: int = 1
    progress: bool = True


class Extra(Protocol):
    """An experiment that is not a recipe comparison (a convex solver, a Hessian analysis).
    It writes its results into the claim's folder as they finish and reports them from there."""

    def run(self, ctx: ExtraContext) -> None:
        """Run what is not in ``ctx.out_dir`` yet."""
        ...

    def blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """Report blocks from the results in ``out_dir``."""
        ...
