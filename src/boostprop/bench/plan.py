"""Plans: resolved, content-addressed comparisons, and the ``plan.json`` that holds all of them.

A :class:`Comparison` is recipes compared on one data set and model with one target and
budget. When it is made, every recipe is resolved (its loss, optimizer, model and hooks with
every argument after defaults, :meth:`~boostprop.bench.recipes.Recipe.resolve`) and every
recipe's learning-rate grid is computed; both are stored in the comparison, and
:meth:`Comparison.to_dict` writes them to ``plan.json``. A comparison read back from
``plan.json`` uses what is stored and never the code's current defaults, so a results folder is
read the same way after the code has changed or the folder has moved.

Writing a plan into a folder that holds a different one is refused (:func:`write_plan`):
identical plans resume; additions need ``extend=True``; a changed comparison is never merged.
Nothing already recorded is lost either way.

Example:
    >>> c = Comparison(claim="demo", id="iris", title="Iris", dataset="iris", model="mlp",
    ...                model_kwargs={"widths": [8]}, recipes=("softmax-ce+adam",), target=0.8,
    ...                epochs=2, batch_size=16, seeds=2, lr_factors=(0.5, 2.0))
    >>> [s.lr for s in c.tune_specs()]
    [0.0005, 0.002]
    >>> Comparison.from_dict(c.to_dict()) == c
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from boostprop.bench.recipes import data_source, dataset_info, get_recipe
from boostprop.bench.recipes._registry import check_applies
from boostprop.bench.recipes._tasks import run_metric
from boostprop.bench.runner import RunSpec, _jsonable
from boostprop.bench.store import write_json_atomic

PLAN_FILE, RUNS_FILE = "plan.json", "runs.jsonl"
PLAN_FORMAT = 2  # format 1 (boostprop ≤ 0.1 sessions) named recipes without their content
TUNE_SEED = 0
# how tuning ranks a comparison's learning rates (boostprop.bench.sweep): by epochs to target
# (ties: the final validation metric), or by the final validation metric in its direction;
# "final_val_acc" is that metric's name in plans written before tasks had their own metric
# (the same rule: the accuracy for classification, bits/char for a language model, ...)
TUNE_METRICS = ("epochs_to_target", "final_val_metric", "final_val_acc")


@dataclass(frozen=True)
class Comparison:
    """Recipes compared on one data set and model, with one target and budget.

    ``components`` (recipe → resolved components) and ``lr_grids`` (recipe → learning rates)
    are filled in from the recipe registry when left empty, and taken as given otherwise (a
    comparison read from ``plan.json``).
    """

    claim: str
    id: str
    title: str
    dataset: str
    model: str
    recipes: tuple[str, ...]
    target: float
    epochs: int
    batch_size: int
    seeds: int
    lr_factors: tuple[float, ...]
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    train_subset: int | None = None
    tune_metric: str = "epochs_to_target"
    eval_subset: int | None = None
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lr_grids: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    data_source: str | None = None
    lr_extend_max: int = 0  # extra learning rates per direction when the best is at an edge
    lr_extend_factor: float = 3.0  # each extra learning rate is the edge's ×/÷ this factor
    protocol: str = "tuned"  # "tuned" baselines, or the "paper"'s own setup (a label)
    # the metric runs are judged by (and ``target`` is a value of) when not the task's own:
    # recipes._tasks.run_metric; None (the task's metric) is left out of plan.json
    metric_name: str | None = None

    def __post_init__(self) -> None:
        if not self.recipes:
            raise ValueError("recipes: expected at least one recipe name")
        if not (
            isinstance(self.target, (int, float))
            and not isinstance(self.target, bool)
            and 0 < self.target < math.inf
        ):
            raise ValueError(
                f"target: expected a positive value of the task's validation metric (an accuracy "
                f"in (0, 1], a bits/char or an RMSE), got {self.target!r}"
            )
        for name in ("epochs", "batch_size", "seeds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not self.lr_factors or any(not (f > 0 and math.isfinite(f)) for f in self.lr_factors):
            raise ValueError(f"lr_factors: expected positive factors, got {self.lr_factors!r}")
        if not isinstance(self.lr_extend_max, int) or self.lr_extend_max < 0:
            raise ValueError(
                f"lr_extend_max: expected a non-negative integer, got {self.lr_extend_max!r}"
            )
        if not (self.lr_extend_factor > 1 and math.isfinite(self.lr_extend_factor)):
            raise ValueError(
                f"lr_extend_factor: expected a finite factor > 1, got {self.lr_extend_factor!r}"
            )
        if self.protocol not in ("tuned", "paper"):
            raise ValueError(f"protocol: expected 'tuned' or 'paper', got {self.protocol!r}")
        if self.tune_metric not in TUNE_METRICS:
            raise ValueError(
                f"tune_metric: expected one of {TUNE_METRICS}, got {self.tune_metric!r}"
            )
        object.__setattr__(self, "target", float(self.target))
        object.__setattr__(self, "lr_extend_factor", float(self.lr_extend_factor))
        recipes = tuple(self.recipes)
        if len(set(recipes)) != len(recipes):
            raise ValueError(f"recipes: expected distinct recipe names, got {list(recipes)}")
        object.__setattr__(self, "recipes", recipes)
        object.__setattr__(self, "lr_factors", tuple(float(f) for f in self.lr_factors))
        object.__setattr__(self, "model_kwargs", _jsonable(dict(self.model_kwargs)))
        if not self.components:  # a new comparison: resolve it from the registries, now
            info = dataset_info(self.dataset)  # clear error for an unknown data set
            run_metric(info.task, self.metric_name).check_target(self.target)
            for r in recipes:  # a loss that does not apply to the task is refused now
                check_applies(r, get_recipe(r).loss, info.task, self.dataset)
            comps = {
                r: get_recipe(r).resolve(self.model, self.model_kwargs, info.input_shape)
                for r in recipes
            }
            object.__setattr__(self, "components", comps)
            object.__setattr__(self, "data_source", data_source(self.dataset))
        if not self.lr_grids:
            grids = {
                r: tuple(float(f"{get_recipe(r).lr * f:.6g}") for f in self.lr_factors)
                for r in recipes
            }
            object.__setattr__(self, "lr_grids", grids)
        for what, table in (("components", self.components), ("lr_grids", self.lr_grids)):
            missing = [r for r in recipes if r not in table]
            if missing:
                raise ValueError(f"{what}: no entry for recipes {missing}")
        object.__setattr__(
            self, "components", {r: _jsonable(dict(self.components[r])) for r in recipes}
        )
        object.__setattr__(
            self, "lr_grids", {r: tuple(float(v) for v in self.lr_grids[r]) for r in recipes}
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything about the comparison as JSON data, resolved content included
        (``metric_name`` only when set, so plans of comparisons judged by their task's own
        metric read as they did before a comparison could name another)."""
        data: dict[str, Any] = _jsonable(asdict(self))
        if data["metric_name"] is None:
            del data["metric_name"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Rebuild from :meth:`to_dict` without consulting the code's registries."""
        if "components" not in data or "lr_grids" not in data:
            raise ValueError(
                "plan: this comparison was written by an older boostprop (no resolved recipes "
                "in plan.json); its runs cannot be identified by content. Re-run it into a new "
                "--out folder."
            )
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        d["recipes"], d["lr_factors"] = tuple(d["recipes"]), tuple(d["lr_factors"])
        d["lr_grids"] = {r: tuple(v) for r, v in d["lr_grids"].items()}
        return cls(**d)

    def lr_grid(self, recipe: str) -> list[float]:
        """The learning rates ``recipe`` is tuned over (as planned)."""
        return list(self.lr_grids[recipe])

    def spec(self, recipe: str, lr: float, seed: int, phase: str) -> RunSpec:
        """The run of ``recipe`` at learning rate ``lr`` and ``seed`` in ``phase``."""
        return RunSpec(
            recipe=recipe,
            components=self.components[recipe],
            dataset=self.dataset,
            lr=lr,
            seed=seed,
            epochs=self.epochs,
            batch_size=self.batch_size,
            target=self.target,
            train_subset=self.train_subset,
            eval_subset=self.eval_subset,
            phase=phase,
            claim=self.claim,
            comparison=self.id,
            data_source=self.data_source,
            metric_name=self.metric_name,
        )

    def tune_specs(self) -> list[RunSpec]:
        """The planned tuning runs: every recipe at every learning rate of its grid, seed 0
        (a grid that is extended at an edge adds runs: :func:`boostprop.bench.sweep.tuning_specs`)."""
        return [self.spec(r, lr, TUNE_SEED, "tune") for r in self.recipes for lr in self.lr_grid(r)]

    def final_specs(self, best_lr: Mapping[str, float]) -> list[RunSpec]:
        """The final runs: every recipe at its selected learning rate, seeds 1…``seeds``."""
        return [
            self.spec(r, best_lr[r], seed, "final")
            for r in self.recipes
            for seed in range(1, self.seeds + 1)
        ]

    def with_labels(
        self, claim: str, id: str | None = None, title: str | None = None
    ) -> Comparison:
        """The same comparison under another claim/id/title (labels only: same runs)."""
        return replace(self, claim=claim, id=id or self.id, title=title or self.title)


# ------------------------------------------------------------------------------ plan.json


class PlanConflict(ValueError):
    """A plan that would change what a results folder already holds."""


def plan_content(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What a plan asks for (without the command and environment it was written with)."""
    return {k: v for k, v in plan.items() if k not in ("command", "env")}


def read_plan(out_dir: Path) -> dict[str, Any]:
    """The plan of a results folder (a clear error when there is none or it is too old)."""
    path = Path(out_dir) / PLAN_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"out_dir: {out_dir} has no {PLAN_FILE}; run `boostprop reproduce --out {out_dir}` or "
            "`boostprop bench ... --out DIR` first"
        )
    plan: dict[str, Any] = json.loads(path.read_text())
    if plan.get("format") != PLAN_FORMAT:
        raise ValueError(
            f"out_dir: {path} has plan format {plan.get('format', 1)!r}, this boostprop reads "
            f"format {PLAN_FORMAT} (runs identified by their resolved content); re-run into a "
            "new --out folder"
        )
    return plan


def _canon(value: Any) -> str:
    """Canonical JSON text: what a run's key hashes, so 1 and 1.0 or True differ here too."""
    return json.dumps(value, sort_keys=True)


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if _canon(old.get(k)) != _canon(new.get(k)))


def _merge_preset(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, conflicts: list[str]
) -> Mapping[str, Any] | None:
    """The presets of two plans merged: the name must agree, and every workload and claim that
    both list must have the same sizes; the others are added."""
    if old is None or new is None:
        if _canon(old) != _canon(new):
            conflicts.append(f"preset differs ({_short(old)} → {_short(new)})")
        return new if old is None else old
    if old.get("name") != new.get("name"):
        conflicts.append(f"preset differs ({old.get('name')!r} → {new.get('name')!r})")
        return old
    merged = dict(old)
    for part in ("workloads", "claims"):
        have, add = dict(old.get(part) or {}), dict(new.get(part) or {})
        for name in sorted(set(have) & set(add)):
            if _canon(have[name]) != _canon(add[name]):
                conflicts.append(f"the preset's sizes of {part[:-1]} {name!r} changed")
        merged[part] = {**add, **have}
    return merged


def merge_plans(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(merged plan, conflicts, additions) of writing ``new`` over ``old``. A conflict is a
    preset, kind or comparison that differs; an addition is a claim or comparison ``old`` lacks.
    Entries of ``old`` that ``new`` does not mention are kept."""
    conflicts: list[str] = []
    additions: list[str] = []
    if old.get("kind") != new.get("kind"):
        conflicts.append(f"kind differs ({_short(old.get('kind'))} → {_short(new.get('kind'))})")
    preset = _merge_preset(old.get("preset"), new.get("preset"), conflicts)
    claims = {e["name"]: dict(e) for e in old.get("claims", [])}
    order = [e["name"] for e in old.get("claims", [])]
    for entry in new.get("claims", []):
        name = entry["name"]
        if name not in claims:
            additions.append(f"claim {name!r}")
            claims[name] = dict(entry)
            order.append(name)
            continue
        have = {c["id"]: c for c in claims[name]["comparisons"]}
        merged = list(claims[name]["comparisons"])
        for comp in entry["comparisons"]:
            prev = have.get(comp["id"])
            if prev is None:
                near = _nearest(comp, claims[name]["comparisons"])
                additions.append(f"comparison {name}/{comp['id']}{near}")
                merged.append(comp)
            elif _canon(prev) != _canon(comp):
                conflicts.append(f"comparison {name}/{comp['id']} changed in {_diff(prev, comp)}")
        skipped = [
            s
            for s in entry.get("skipped", [])
            if not any(s.startswith(c["title"] + ":") for c in merged)
        ]
        claims[name] = {**claims[name], "comparisons": merged, "skipped": skipped}
    merged_plan = {**old, **{k: v for k, v in new.items() if k not in ("claims", "preset")}}
    merged_plan["preset"] = preset
    merged_plan["claims"] = [claims[n] for n in order]
    return merged_plan, conflicts, additions


def _nearest(comp: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> str:
    """`` (differs from X in [...])`` for the existing comparison most like ``comp``."""
    labels = ("id", "title", "claim")
    diffs = [
        (
            _diff(
                {k: v for k, v in o.items() if k not in labels},
                {k: v for k, v in comp.items() if k not in labels},
            ),
            o["id"],
        )
        for o in others
    ]
    if not diffs:
        return ""
    fields_, other = min(diffs, key=lambda d: len(d[0]))
    return f" (it differs from {other} in {fields_})"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def write_plan(out_dir: Path, plan: Mapping[str, Any], *, extend: bool = False) -> dict[str, Any]:
    """Write ``plan`` into ``out_dir`` (atomically) and return the folder's plan.

    An identical plan (up to its command and environment) is a resume. A plan that only adds
    claims or comparisons is merged when ``extend`` is true and refused otherwise. A plan that
    changes the preset or a comparison is refused: the runs already recorded stay as they are.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> p = {"format": PLAN_FORMAT, "kind": "claims", "preset": None, "claims": []}
        >>> write_plan(d, p)["kind"]
        'claims'
    """
    out_dir = Path(out_dir)
    plan = {**plan, "format": PLAN_FORMAT}
    path = out_dir / PLAN_FILE
    if path.exists():
        old = read_plan(out_dir)
        merged, conflicts, additions = merge_plans(old, plan)
        if conflicts:
            raise PlanConflict(
                f"out: {out_dir} already holds a different plan: {'; '.join(conflicts)}. Nothing "
                "was changed; run this plan into another --out folder (the recorded runs of the "
                "old plan are kept either way)"
            )
        if additions and not extend:
            raise PlanConflict(
                f"out: {out_dir} already holds a different plan: it lacks "
                f"{', '.join(additions)}. Pass --extend (extend=True) to add them to it (nothing "
                "recorded changes), or use another --out folder. Nothing was changed"
            )
        plan = merged
    write_json_atomic(path, plan)
    return dict(plan)


def plan_comparisons(plan: Mapping[str, Any]) -> list[Comparison]:
    """Every comparison of a plan, rebuilt from its stored content."""
    return [Comparison.from_dict(c) for e in plan.get("claims", []) for c in e["comparisons"]]
