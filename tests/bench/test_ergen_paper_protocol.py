"""The Figure 2 protocol of Ergen et al. 2023 (``bench.extras.ergen_convex.FIGURE2``): its settings
are the official code's (pilancilab/Threshold-networks, main.ipynb), the defaults of ``Setting``
are the presets' protocol, and a miniature of the protocol runs end to end, records each test
point's outcome (what the claim's paper rule pairs) and reports. Its verdict rule is tested in
test_ergen_paper.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from boostprop.bench.document import Table
from boostprop.bench.extras.ergen_convex import (
    FIGURE2,
    STE_VARIANTS,
    ConvexVsSTE,
    Setting,
    load_setting,
    run_setting,
)
from boostprop.bench.store import write_json_atomic
from boostprop.data import teacher_weights


def test_figure2_is_the_official_configuration() -> None:
    f = FIGURE2
    # data: n = 100, d = 20 (+ bias: the teacher's first layer acts on [x, 1]), 2000 test points
    assert (f.dataset, f.n_train, f.d, f.n_test, f.teacher_bias) == ("teacher", 100, 20, 2000, True)
    # three-layer convex method: random first layer of width 1000, Convex-PI and Convex-SVM
    assert (f.convex3_width, f.convex3_methods) == (1000, ("pi", "svm"))
    assert (f.svm_C, f.svm_solver) == (1.0, "libsvm")  # sklearn SVC(kernel="linear", C=1)
    # STE: bias-free three-layer networks of hidden widths (1000, n), float32, the official loss
    assert (f.ste_depths, f.ste_widths, f.ste_bias) == ((3,), (1000, 100), False)
    assert (f.ste_objective, f.ste_dtype, f.ste_epochs) == ("paper", "float32", 2000)
    assert f.seeds == 1  # the notebook's single run


def test_setting_defaults_are_the_presets_protocol() -> None:
    s = Setting("teacher_n100", "teacher", 100)
    assert (s.d, s.n_test, s.teacher_bias) == (20, 2000, False)
    assert (s.convex3_width, s.convex3_methods, s.svm_C, s.svm_solver) == (
        None,
        ("pi",),
        1e6,
        "liblinear",
    )
    assert (s.ste_widths, s.ste_bias, s.ste_objective, s.ste_dtype) == (
        None,
        True,
        "convex",
        "float64",
    )
    assert s.ste_hidden(2) == s.ste_hidden(3) == 100
    for bad in (
        {"convex3_methods": ("lsq",)},
        {"svm_solver": "sgd"},
        {"ste_objective": "mse"},
        {"ste_dtype": "float16"},
        {"ste_widths": (10, 10, 10)},
        {"ste_depths": (4,)},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Setting("x", "teacher", **bad)  # type: ignore[arg-type]


def test_figure2_data_is_the_teacher_with_first_layer_bias() -> None:
    x_tr, y_tr, x_te, y_te, n_classes = load_setting(FIGURE2)
    assert x_tr.shape == (100, 20) and x_te.shape == (2000, 20) and n_classes == 2
    w1, w2, w3 = teacher_weights(d=20, width=20, seed=0, bias=True)
    for x, y in ((x_tr, y_tr), (x_te, y_te)):
        out = np.tanh(np.tanh(x.numpy() @ w1[:20] + w1[20]) @ w2) @ w3
        np.testing.assert_array_equal(y.numpy(), np.where(out[:, 0] >= 0, 1.0, -1.0))


def test_a_miniature_of_figure2_runs_and_reports(tmp_path: Path) -> None:
    mini = dataclasses.replace(
        FIGURE2, name="mini", n_patterns=100, convex3_width=300, ste_widths=(40, 100), ste_epochs=3
    )
    res = run_setting(mini, progress=False, outcomes=True)
    assert [c["second_layer"] for c in res["convex3"]] == ["pi", "svm"]
    assert all(c["width"] == 300 and c["exact"] for c in res["convex3"])
    for c in res["convex3"]:
        assert c["objective_over_n"] == pytest.approx(c["objective"] / 100)
    assert [(r["depth"], r["variant"]) for r in res["ste"]] == [(3, v) for v in STE_VARIANTS]
    assert all(len(r["objective"]) == 3 and np.isfinite(r["final_objective"]) for r in res["ste"])
    assert (res["ste_objective"], res["ste_bias"], res["teacher_bias"]) == ("paper", False, True)
    assert res["ste_widths"] == {"3": (40, 100)}
    # the recorded outcomes are the final networks' on the 2,000 test points: their mean is the
    # test accuracy (for STE, the one train_ste recorded after its last step)
    for r in res["convex3"] + res["ste"]:
        assert len(r["test_outcomes"]) == 2000 and set(r["test_outcomes"]) <= {"0", "1"}
        assert r["test_outcomes"].count("1") / 2000 == pytest.approx(r["test_acc"], abs=1e-12)
    assert "test_outcomes" not in res["convex"][0]  # the two-layer Lasso is not in the figure
    assert res["setting_fields"]["ste_widths"] == [40, 100]
    # the official loss at the first epoch, recomputed: with the init of seed 0 on [X, 1]
    from boostprop.convex import STENetwork

    x_tr, y_tr, _, _, _ = load_setting(mini)
    xa = torch.cat([x_tr, torch.ones(100, 1, dtype=x_tr.dtype)], dim=1).float()
    torch.manual_seed(0)
    net = STENetwork(21, (40, 100), bias=False, dtype=torch.float32, variant="identity")
    with torch.no_grad():
        f = net(xa)
    w1, w2 = net.hidden_layers[0].weight.detach(), net.hidden_layers[1].weight.detach()
    first = float(((f - y_tr.float()) ** 2).mean() / 2 + 0.1 * (w1.norm() + w2.norm()) / 200)
    assert res["ste"][0]["objective"][0] == pytest.approx(first, rel=1e-6)
    # the report shows both reconstructions and says which loss the STE runs were trained on
    out, figures = tmp_path / "claim", tmp_path / "figures"
    out.mkdir()
    figures.mkdir()
    write_json_atomic(out / "mini.json", res)
    blocks = ConvexVsSTE().blocks(out, figures)
    (table,) = [b for b in blocks if isinstance(b, Table)]
    labels = [row[0] for row in table.rows]
    assert labels[:3] == [
        "convex 2-layer",
        "convex 3-layer, Convex-PI (own objective)",
        "convex 3-layer, Convex-SVM (own objective)",
    ]
    assert labels[3:] == [f"STE {v} (3-layer; official loss)" for v in STE_VARIANTS]
    assert (figures / "ergen2023__mini__accuracy.png").stat().st_size > 0
