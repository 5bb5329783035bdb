"""The registry of paper claims that ``boostprop reproduce`` checks.

Each claim lives in its own module of this package and registers itself; importing the package
discovers them by folder, so adding a claim means adding one file.

Example:
    >>> "baselines" in CLAIMS
    True
"""

from __future__ import annotations

import importlib
import pkgutil

from boostprop.bench.claims._claim import (
    CLAIMS,
    Arm,
    Claim,
    Extra,
    ExtraContext,
    VerdictRule,
    get_claim,
    register_claim,
)


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()

__all__ = [
    "CLAIMS",
    "Arm",
    "Claim",
    "Extra",
    "ExtraContext",
    "VerdictRule",
    "get_claim",
    "register_claim",
]
