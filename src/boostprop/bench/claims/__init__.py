"""The registry of paper claims that ``boostprop reproduce`` checks.

Each claim lives in its own module of this package and registers itself; importing the package
discovers them by folder, so adding a claim means adding one file.

Example:
    >>> "baselines" in CLAIMS
    True
"""

from __future__ import annotations

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
from boostprop.bench.components import discover_modules

discover_modules(__name__, __path__)

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
