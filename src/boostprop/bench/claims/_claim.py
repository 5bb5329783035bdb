"""What a paper claim is to the harness: a declarative description, and the claim registry.

A :class:`Claim` names its workloads and recipes (as :class:`Arm` values), its verdict rule (a
function of the comparisons' summaries), a typed table of its sizes per preset, and the extra
experiments it needs beyond recipe comparisons (each in its own module under
:mod:`boostprop.bench.extras`). Targets and budgets come from the workloads.

Example:
    >>> from boostprop.bench.presets import PresetTable
    >>> c = Claim(name="demo", paper="Demo", statement="s", rule="r", rank=99,
    ...           sizes=PresetTable.same(("softmax-ce+adam",)),
    ...           arms=lambda recipes: [Arm("mnist1d_mlp", recipes)],
    ...           judge=lambda summaries, out_dir: Verdict("inconclusive", "demo"))
    >>> [x.id for x in c.comparisons(Preset.SMOKE)]
    ['mnist1d_mlp']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from boostprop.bench.document import Block
from boostprop.bench.extras import Extra, ExtraContext
from boostprop.bench.plan import Comparison
from boostprop.bench.presets import Preset, PresetTable
from boostprop.bench.summary import ComparisonSummary
from boostprop.bench.verdicts import BASELINE_RECIPES, Verdict, judge_with_baselines
from boostprop.bench.workloads import get_workload

S = TypeVar("S")
VerdictRule = Callable[[dict[str, ComparisonSummary], Path], Verdict]


@dataclass(frozen=True)
class Arm:
    """One comparison of a claim: ``recipes`` on ``workload`` (its model's keywords replaced by
    ``model_kwargs`` when given), under an ``id`` and ``title`` (the workload's by default).
    ``protocol`` is ``"tuned"`` (every recipe tuned with the workload's budget) or ``"paper"``
    (the paper's own setup: usually fixed learning rates, ``lr_factors=(1.0,)``, and the paper's
    batch size or epochs in place of the workload's).

    Example:
        >>> Arm("fashion_mlp", ("softmax-ce+adam",)).tune_metric
        'epochs_to_target'
    """

    workload: str
    recipes: tuple[str, ...]
    id: str | None = None
    title: str | None = None
    model_kwargs: Mapping[str, Any] | None = None
    tune_metric: str = "epochs_to_target"
    protocol: str = "tuned"
    lr_factors: tuple[float, ...] | None = None
    batch_size: int | None = None
    epochs: int | None = None


PROTOCOLS = ("tuned", "paper")


def per_optimizer_arms(
    workloads: Sequence[str],
    optimizers: Sequence[str],
    losses: Sequence[str],
    *,
    tune_metric: str = "epochs_to_target",
) -> list[Arm]:
    """One comparison per workload and optimizer of the recipes ``<loss>+<optimizer>`` (each
    with its own plots), ids and titles suffixed by the optimizer.

    Example:
        >>> [a.id for a in per_optimizer_arms(["mnist1d_mlp"], ["sgd", "adam"], ["expboost"])]
        ['mnist1d_mlp_sgd', 'mnist1d_mlp_adam']
    """
    return [
        Arm(
            w,
            tuple(f"{loss}+{opt}" for loss in losses),
            id=f"{w}_{opt}",
            title=f"{get_workload(w).title}, {opt}",
            tune_metric=tune_metric,
        )
        for w in workloads
        for opt in optimizers
    ]


@dataclass(frozen=True)
class Claim(Generic[S]):
    """A paper's claim: what it states, its verdict rule in words and as a function, its sizes
    per preset (``sizes``, of a type the claim chooses) and its comparisons (``arms`` of the
    sizes), and its extra experiments. A claim may also declare the paper's own protocol:
    ``paper_arms`` (comparisons run as the paper ran them), ``paper_judge`` (its verdict rule
    there, ``judge`` by default) and ``paper_protocol`` (what the paper did and how it departs
    from the tuned-baselines protocol); the report shows both verdicts side by side. A claim
    whose paper protocol is an extra experiment rather than comparisons sets ``paper_extra``
    instead of ``paper_arms``: whether a preset runs it, from that preset's sizes of the claim as
    the plan records them (plain data); ``paper_judge`` then judges from the claim's folder."""

    name: str
    paper: str
    statement: str
    rule: str
    rank: int  # position in the report's verdict table
    sizes: PresetTable[S]
    arms: Callable[[S], Sequence[Arm]]
    judge: VerdictRule
    extras: tuple[Extra, ...] = field(default=())
    in_reproduce: bool = True  # run by `boostprop reproduce`
    paper_arms: Callable[[S], Sequence[Arm]] | None = None
    paper_judge: VerdictRule | None = None
    paper_protocol: str = ""
    baselines: tuple[str, ...] = BASELINE_RECIPES  # the references its rule compares against
    paper_extra: Callable[[Any], bool] | None = None

    def comparisons(self, preset: Preset, protocol: str | None = "tuned") -> list[Comparison]:
        """The claim's comparisons under ``preset`` for ``protocol`` (``None``: both),
        resolved now from the registries."""
        if protocol not in (None, *PROTOCOLS):
            raise ValueError(f"protocol: expected one of {PROTOCOLS} or None, got {protocol!r}")
        sizes = self.sizes[preset]
        arms = list(self.arms(sizes))
        if self.paper_arms is not None:
            arms += [
                replace(a, protocol="paper", id=a.id or f"{a.workload}_paper")
                for a in self.paper_arms(sizes)
            ]
        out = []
        for arm in arms:
            if protocol is not None and arm.protocol != protocol:
                continue
            w = get_workload(arm.workload)
            out.append(
                w.comparison(
                    self.name,
                    preset,
                    tuple(arm.recipes),
                    id=arm.id,
                    title=arm.title,
                    model_kwargs=arm.model_kwargs,
                    tune_metric=arm.tune_metric,
                    protocol=arm.protocol,
                    lr_factors=arm.lr_factors,
                    batch_size=arm.batch_size,
                    epochs=arm.epochs,
                )
            )
        return out

    def judge_protocol(
        self, protocol: str, summaries: dict[str, ComparisonSummary], out_dir: Path
    ) -> Verdict:
        """The verdict of ``protocol``'s comparisons (``summaries`` by comparison id): the
        claim's rule, except that a comparison whose baseline missed the target in most of its
        final runs is inconclusive (:func:`~boostprop.bench.verdicts.judge_with_baselines`)."""
        rule = self.paper_judge if protocol == "paper" and self.paper_judge else self.judge
        return judge_with_baselines(rule, summaries, out_dir, self.baselines)

    def paper_extra_planned(self, plan: Mapping[str, Any]) -> bool | None:
        """For a claim with ``paper_extra``: whether ``plan`` (a results folder's plan) runs the
        paper's protocol, from the sizes it records for this claim; ``None`` for other claims.

        Example:
            >>> c = Claim(name="demo", paper="Demo", statement="s", rule="r", rank=99,
            ...           sizes=PresetTable.same(("figure2",)), arms=lambda sizes: [],
            ...           judge=lambda summaries, out_dir: Verdict("inconclusive", "demo"),
            ...           paper_extra=lambda sizes: "figure2" in sizes)
            >>> c.paper_extra_planned({"preset": {"claims": {"demo": ["figure2"]}}})
            True
            >>> c.paper_extra_planned({"preset": {"claims": {}}})
            False
        """
        if self.paper_extra is None:
            return None
        sizes = ((plan.get("preset") or {}).get("claims") or {}).get(self.name)
        return sizes is not None and bool(self.paper_extra(sizes))

    def extra_context(
        self, preset: Preset, out_dir: Path, *, jobs: int = 1, progress: bool = True
    ) -> ExtraContext:
        """The context this claim's extras run in under ``preset``."""
        return ExtraContext(preset, self.sizes[preset], out_dir, jobs, progress)

    def extra_blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """Report blocks of every extra experiment."""
        return [b for e in self.extras for b in e.blocks(out_dir, figures)]


CLAIMS: dict[str, Claim[Any]] = {}


def register_claim(claim: Claim[S]) -> Claim[S]:
    """Add ``claim`` under ``claim.name`` (names are unique)."""
    if not claim.name:
        raise ValueError("claim: expected a claim with a non-empty name")
    if claim.name in CLAIMS and CLAIMS[claim.name] is not claim:
        raise ValueError(f"claim: {claim.name!r} is already registered")
    CLAIMS[claim.name] = claim
    return claim


def get_claim(name: str) -> Claim[Any]:
    """The registered claim called ``name`` (a clear error listing the known ones otherwise)."""
    try:
        return CLAIMS[name]
    except KeyError:
        raise ValueError(f"claim: expected one of {sorted(CLAIMS)}, got {name!r}") from None
