"""The benchmark harness: recipes, runs, executors, plans, statistics, claims and the report.

Layers, bottom to top (each imports only from those below it; ``ARCHITECTURE.md``):

1. components and recipes: :mod:`.components`, :mod:`.recipes` (and :mod:`boostprop.losses`,
   :mod:`boostprop.optim`, :mod:`boostprop.nn`, :mod:`boostprop.models`, :mod:`boostprop.data`);
   utilities :mod:`.document`, :mod:`.environment`, :mod:`.plots`
2. runs: :mod:`.runner` (one run → one record), :mod:`.store`, :mod:`.executors`
   (local pool; :mod:`.executors_ray` for a Ray cluster), :mod:`.estimate`
3. statistics: :mod:`.stats`
4. plans and verdict rules: :mod:`.presets`, :mod:`.plan`, :mod:`.sweep`, :mod:`.summary`,
   :mod:`.verdicts`, :mod:`.workloads`
5. claims: :mod:`.extras` (one module per extra experiment), :mod:`.claims` (one per claim)
6. :mod:`.report`, :mod:`.pipeline` (plan → run → report) and the CLI

Example:
    >>> from boostprop.bench import get_recipe
    >>> get_recipe("softmax-ce+adam").optimizer
    'adam'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it; imported on first use, so that a worker process
# importing ``boostprop.bench.runner`` does not pay for the claims, statistics and report
_EXPORTS = {
    "LocalExecutor": "executors",
    "ComparisonResult": "pipeline",
    "compare": "pipeline",
    "reproduce": "pipeline",
    "Comparison": "plan",
    "Preset": "presets",
    "RECIPES": "recipes",
    "Recipe": "recipes",
    "get_recipe": "recipes",
    "register_recipe": "recipes",
    "RunSpec": "runner",
    "make_spec": "runner",
    "run": "runner",
    "ResultsStore": "store",
    "run_comparisons": "sweep",
}

if TYPE_CHECKING:
    from boostprop.bench.executors import LocalExecutor
    from boostprop.bench.pipeline import ComparisonResult, compare, reproduce
    from boostprop.bench.plan import Comparison
    from boostprop.bench.presets import Preset
    from boostprop.bench.recipes import RECIPES, Recipe, get_recipe, register_recipe
    from boostprop.bench.runner import RunSpec, make_spec, run
    from boostprop.bench.store import ResultsStore
    from boostprop.bench.sweep import run_comparisons

__all__ = [
    "RECIPES",
    "Comparison",
    "ComparisonResult",
    "LocalExecutor",
    "Preset",
    "Recipe",
    "ResultsStore",
    "RunSpec",
    "compare",
    "get_recipe",
    "make_spec",
    "register_recipe",
    "reproduce",
    "run",
    "run_comparisons",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'boostprop.bench' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"boostprop.bench.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
