"""boostprop: reference implementations of five published "train neural networks faster" techniques,
and a harness that checks their claims side by side against tuned baselines.

See ``docs/`` for one page per technique (math, API, measured verdict).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
