"""How long a preset takes, before running it: measured step times × planned steps.

For every (comparison, recipe) of the claims a preset runs, a few training steps are timed on
the real data and model (after warm-up steps, on one torch thread as each of ``--jobs 2``'s two
workers on this 2-core machine has), and one evaluation pass over the validation split;
the estimate is ``runs × (epochs × steps per epoch × step time + epochs × evaluation time)``,
divided by the number of parallel jobs. Claims' extra experiments (the convex solver, the Hessian
analysis, the autoencoder) are not recipe runs and are not included: the estimate says so.

A recipe's training hooks are timed in their first steps, so a schedule that is dearer early (the
shortcut networks' transformation updates, every step for the first 200 steps, then once per
epoch) is charged its early cost throughout: an upper bound for those recipes (about 2× their
step cost on Fashion-MNIST).

Example:
    >>> # rows = estimate("full", only=["baselines"]); sum(r.seconds for r in rows)
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from boostprop._threads import one_thread_if
from boostprop.bench.claims import CLAIMS, get_claim
from boostprop.bench.presets import Preset
from boostprop.bench.recipes import dataset_info
from boostprop.bench.runner import RunSpec, build_run, evaluate, prepare_data, train_step


@dataclass(frozen=True)
class EstimateRow:
    """The estimated cost of one recipe in one comparison."""

    claim: str
    comparison: str
    recipe: str
    runs: int  # new runs: tuning runs + seeds (runs shared with an earlier claim are not counted)
    epochs: int
    steps_per_epoch: int
    step_seconds: float  # median of the timed training steps
    eval_seconds: float  # one validation pass (once per epoch)

    @property
    def seconds(self) -> float:
        """Estimated seconds of all of this row's runs: training steps and one validation
        pass per epoch."""
        per_epoch = self.steps_per_epoch * self.step_seconds + self.eval_seconds
        return self.runs * self.epochs * per_epoch


def time_steps(spec: RunSpec, steps: int = 10, warmup: int = 3) -> tuple[float, float]:
    """Median seconds of one training step of ``spec`` (after ``warmup`` steps) and the seconds
    of one evaluation pass over its validation split."""
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps, warmup: expected steps ≥ 1 and warmup ≥ 0, got {steps}, {warmup}")
    data = prepare_data(spec.dataset, spec.train_subset, eval_subset=spec.eval_subset)
    model, loss_fn, optimizer, hooks = build_run(spec, data)
    x_tr, y_tr = data.train
    gen = torch.Generator().manual_seed(spec.seed)
    perm = torch.randperm(len(y_tr), generator=gen)
    times = []
    model.train()
    for i in range(warmup + steps):
        start_idx = (i * spec.batch_size) % max(len(y_tr) - spec.batch_size + 1, 1)
        idx = perm[start_idx : start_idx + spec.batch_size]
        start = time.perf_counter()
        train_step(model, loss_fn, optimizer, hooks, x_tr[idx], y_tr[idx])
        if i >= warmup:
            times.append(time.perf_counter() - start)
    evals = []
    for _ in range(3):
        start = time.perf_counter()
        evaluate(model, loss_fn, *data.val, data.task, data.n_classes)
        evals.append(time.perf_counter() - start)
    return statistics.median(times), statistics.median(evals)


def estimate(
    preset: Preset | str,
    only: Sequence[str] | None = None,
    *,
    steps: int = 10,
    progress: bool = True,
) -> list[EstimateRow]:
    """One row per (claim, comparison, recipe) that ``boostprop reproduce --preset`` would run
    (runs shared between claims are counted once, where they first appear)."""
    preset = Preset.parse(preset)
    names = (
        list(only)
        if only
        else [c.name for c in sorted(CLAIMS.values(), key=lambda c: c.rank) if c.in_reproduce]
    )
    seen: dict[str, str] = {}  # tuning run key -> the tuning metric that selected from it
    todo = []
    for name in names:
        for c in get_claim(name).comparisons(preset, protocol=None):
            if not dataset_info(c.dataset).is_available():
                continue
            for recipe in c.recipes:
                specs = [s for s in c.tune_specs() if s.recipe == recipe]
                keys = {s.key() for s in specs}
                # the seeds are shared only if the same runs were tuned by the same metric
                shared = all(seen.get(k) == c.tune_metric for k in keys)
                n_new = len(keys - seen.keys()) + (0 if shared else c.seeds)
                for k in keys:
                    seen.setdefault(k, c.tune_metric)
                if n_new:
                    todo.append((name, c, recipe, specs[0], n_new))
    rows = []
    for name, c, recipe, spec, n_runs in tqdm(
        todo, desc="timing steps", disable=not progress, unit="recipe", leave=False
    ):
        n_train = len(prepare_data(c.dataset, c.train_subset, eval_subset=c.eval_subset).train[1])
        with one_thread_if(True):
            step_s, eval_s = time_steps(spec, steps)
        steps_per_epoch = math.ceil(n_train / c.batch_size)
        rows.append(
            EstimateRow(name, c.id, recipe, n_runs, c.epochs, steps_per_epoch, step_s, eval_s)
        )
    return rows
