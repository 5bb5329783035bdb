"""Ad-hoc sweeps from ``boostprop bench``: user-chosen recipes on one data set, no paper claim.

The "verdict" of an ad-hoc sweep is descriptive: which recipe reached the target first and
which had the best test accuracy.

Example:
    >>> AdhocClaim().in_reproduce
    False
"""

from __future__ import annotations

import math
from pathlib import Path

from boostprop.bench.claims import register_claim
from boostprop.bench.claims.base import Claim, Verdict
from boostprop.bench.summary import ComparisonSummary


class AdhocClaim(Claim):
    name = "adhoc"
    rank = 10
    paper = "Ad-hoc sweep"
    statement = "Recipes chosen on the command line, compared with the same tuning budget."
    rule = "Descriptive only: the fastest recipe to the target and the most accurate one."
    in_reproduce = False

    def judge(self, summaries: dict[str, ComparisonSummary], out_dir: Path) -> Verdict:
        details = []
        for cid, s in summaries.items():
            done = {n: r for n, r in s.recipes.items() if r.n_runs}
            if not done:
                details.append(f"{cid}: no finished runs")
                continue
            fastest = min(done.values(), key=lambda r: r.epochs_to_target.median)
            best = max(
                done.values(), key=lambda r: r.test_acc_mean if r.test_acc.size else -math.inf
            )
            details.append(
                f"{cid}: fastest to target {fastest.recipe} ({fastest.epochs_to_target.median:g} "
                f"epochs, median); most accurate {best.recipe} ({100 * best.test_acc_mean:.2f}% test)"
            )
        return Verdict("inconclusive", "; ".join(details) or "no data", tuple(details))


register_claim(AdhocClaim())
