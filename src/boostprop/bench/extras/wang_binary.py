"""Extra experiment of Wang, Veluswami, Mishra and Ravi (2023), "Accelerated Neural Network
Training with Rooted Logistic Objectives", arXiv:2310.03890: binary RLO vs logistic regression
(with and without L2) on tabular data — iterations of a deterministic L-BFGS to a tolerance, and
test accuracy. Results go to ``<claim folder>/binary_logistic.json``.

Example:
    >>> BinaryLogistic().blocks(Path("/nonexistent"), Path("."))
    []
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from boostprop.bench.document import Block, Heading, Paragraph, Table
from boostprop.bench.extras import ExtraContext
from boostprop.bench.store import write_json_atomic


class BinaryLogistic:
    """Binary RLO vs logistic regression on ``breast_cancer`` and ``teacher``."""

    def run(self, ctx: ExtraContext) -> None:
        """Run the comparison for the k of ``ctx.sizes.binary_ks`` unless it is on disk."""
        path = ctx.out_dir / "binary_logistic.json"
        if path.exists():
            return
        rows = []
        ks = tuple(ctx.sizes.binary_ks)
        for dataset in ("breast_cancer", "teacher"):
            rows += binary_logistic_experiment(dataset, ks)
        write_json_atomic(path, rows)

    def blocks(self, out_dir: Path, figures: Path) -> list[Block]:
        """The table of iterations and accuracies."""
        path = out_dir / "binary_logistic.json"
        if not path.exists():
            return []
        rows = json.loads(path.read_text())
        return [
            Heading(
                "Binary RLO vs logistic regression (L-BFGS, tolerance 1e-6)",
                3,
                anchor="wang2023-binary",
            ),
            Paragraph(
                "Deterministic full-batch L-BFGS (scipy) from zero; iterations until the projected "
                "gradient is below the tolerance; L2 strength C = 1 where used (scikit-learn's "
                "convention). Logistic regression is scikit-learn's `LogisticRegression(solver='lbfgs')`."
            ),
            Table(
                ["data set", "model", "iterations", "train acc %", "test acc %", "seconds"],
                [
                    [
                        r["dataset"],
                        r["model"],
                        str(r["n_iter"]),
                        f"{100 * r['train_acc']:.2f}",
                        f"{100 * r['test_acc']:.2f}",
                        f"{r['seconds']:.3f}",
                    ]
                    for r in rows
                ],
            ),
        ]


def binary_logistic_experiment(
    dataset: str, ks: tuple[float, ...], tol: float = 1e-6
) -> list[dict[str, Any]]:
    """Binary RLO (several k, with and without L2) vs logistic regression on a binary data set."""
    from sklearn.linear_model import LogisticRegression

    from boostprop.data import get_dataset
    from boostprop.linear_models import RootedLogisticRegression

    info = get_dataset(dataset)
    x_tr, y_tr = (t.numpy().astype(np.float64) for t in info.load("train", 0))
    x_te, y_te = (t.numpy().astype(np.float64) for t in info.load("test", 0))
    models: list[tuple[str, Any]] = [
        ("LR", LogisticRegression(C=np.inf, tol=tol, max_iter=5000)),
        ("LR-L2 (C=1)", LogisticRegression(C=1.0, tol=tol, max_iter=5000)),
    ]
    for k in ks:
        models.append(
            (f"RLO k={k:g}", RootedLogisticRegression(k=k, C=None, tol=tol, max_iter=5000))
        )
        models.append(
            (f"RLO-L2 k={k:g} (C=1)", RootedLogisticRegression(k=k, C=1.0, tol=tol, max_iter=5000))
        )
    rows = []
    for name, model in models:
        start = time.perf_counter()
        model.fit(x_tr, y_tr)
        seconds = time.perf_counter() - start
        n_iter = int(np.max(model.n_iter_))
        rows.append(
            {
                "dataset": dataset,
                "model": name,
                "n_iter": n_iter,
                "train_acc": float(model.score(x_tr, y_tr)),
                "test_acc": float(model.score(x_te, y_te)),
                "seconds": seconds,
            }
        )
    return rows
