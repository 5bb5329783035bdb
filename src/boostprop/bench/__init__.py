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
