"""The registry of paper claims that ``boostprop reproduce`` checks.

Each claim lives in its own module and registers itself here; the registry maps a claim's
name to its instance.

Example:
    >>> "baselines" in CLAIMS
    True
"""

from __future__ import annotations

from boostprop.bench.claims.base import PRESETS, Claim, ExtraContext, Verdict

CLAIMS: dict[str, Claim] = {}


def register_claim(claim: Claim) -> Claim:
    """Add ``claim`` under ``claim.name`` (names are unique)."""
    if not claim.name:
        raise ValueError("claim: expected a claim with a non-empty name")
    if claim.name in CLAIMS and CLAIMS[claim.name] is not claim:
        raise ValueError(f"claim: {claim.name!r} is already registered")
    CLAIMS[claim.name] = claim
    return claim


def get_claim(name: str) -> Claim:
    try:
        return CLAIMS[name]
    except KeyError:
        raise ValueError(f"claim: expected one of {sorted(CLAIMS)}, got {name!r}") from None


# Importing a claim module registers its recipes and its claim.
from boostprop.bench.claims import (  # noqa: E402,F401
    adhoc,
    baselines,
    combinations,
    ergen2023,
    munoz2025,
    oland2017,
    raiko2012,
    wang2023,
)

__all__ = ["CLAIMS", "PRESETS", "Claim", "ExtraContext", "Verdict", "get_claim", "register_claim"]
