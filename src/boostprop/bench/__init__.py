"""The benchmark harness: recipes, runner, sweeps, statistics, plots, report and paper claims.

Data flow (see ARCHITECTURE.md): ``claims`` → ``sweep`` → ``runner`` → ``stats`` → ``report``;
every stage reads only what the previous one wrote, so a report can be rebuilt from a results
folder and a sweep resumes where it stopped.
"""

from __future__ import annotations

from boostprop.bench.recipes import RECIPES, Recipe, get_recipe, register_recipe
from boostprop.bench.runner import RunSpec, run
from boostprop.bench.store import ResultsStore
from boostprop.bench.sweep import Comparison, run_comparisons

__all__ = [
    "RECIPES",
    "Comparison",
    "Recipe",
    "ResultsStore",
    "RunSpec",
    "get_recipe",
    "register_recipe",
    "run",
    "run_comparisons",
]
