"""Contract tests over the recipe registry: every registered recipe, old or new, without a test
of its own.

benchopt-style: a recipe added by one file is covered here without a new test. Each recipe is
resolved on the tiny Iris MLP (a regression recipe, whose loss does not apply to a
classification, on a tiny factorisation of ``matrix_completion``), built from its resolved
components alone and takes one training step; its resolved components must be plain JSON and its run key must not depend on when or how
often it is resolved.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch

from boostprop.bench.recipes import RECIPES
from boostprop.bench.recipes._registry import loss_tasks
from boostprop.bench.runner import RunSpec, build_run, make_spec, prepare_data, train_step

NAMES = sorted(RECIPES)
DATASET, MODEL, MODEL_KWARGS, BATCH = "iris", "mlp", {"widths": [8]}, 16
# where a recipe's loss applies to regression only
REGRESSION = "matrix_completion", "matrix_factorization", {"n_rows": 500, "n_cols": 400, "rank": 2}


def _workload(name: str) -> tuple[str, str, dict[str, Any]]:
    if "classification" in loss_tasks(RECIPES[name].loss):
        return DATASET, MODEL, MODEL_KWARGS
    return REGRESSION


def _spec(name: str, **overrides: Any) -> RunSpec:
    fields: dict[str, Any] = {
        "lr": RECIPES[name].lr,
        "seed": 0,
        "epochs": 1,
        "batch_size": BATCH,
        **overrides,
    }
    return make_spec(name, *_workload(name), **fields)


def test_the_registry_holds_every_technique() -> None:
    """The folder discovery found each technique's recipes (a missing module would leave the
    parametrised tests below silently smaller)."""
    expected = {
        "softmax-ce+sgd",  # baselines
        "softmax-ce+adam",
        "expboost+sgd",  # Øland 2017
        "rooted-paper-k3+adam",  # Wang 2023
        "neuronboost",  # Munoz 2025
        "shortcut-ab",  # Raiko 2012
        "expboost+neuronboost",  # combinations
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_takes_one_training_step(name: str) -> None:
    spec = _spec(name)
    data = prepare_data(spec.dataset)
    model, loss_fn, optimizer, hooks = build_run(spec, data)
    assert len(hooks) == len(spec.components["hooks"])
    params = list(model.parameters())
    assert params, f"{name}: the model has no parameters"
    before = [p.detach().clone() for p in params]
    x, y = data.train
    model.train()
    loss = train_step(model, loss_fn, optimizer, hooks, x[:BATCH], y[:BATCH])

    assert loss.ndim == 0
    assert math.isfinite(float(loss.detach())), f"{name}: loss {float(loss.detach())}"
    changed = [not torch.equal(b, p.detach()) for b, p in zip(before, params, strict=True)]
    assert any(changed), f"{name}: one step changed no parameter"
    for (pname, p), b in zip(model.named_parameters(), before, strict=True):
        assert p.shape == b.shape, f"{name}: {pname} changed shape"
        assert torch.isfinite(p).all(), f"{name}: {pname} is not finite after one step"


@pytest.mark.parametrize("name", NAMES)
def test_resolved_components_are_json(name: str) -> None:
    components = _spec(name).components
    assert set(components) == {"loss", "optimizer", "model", "hooks"}
    assert json.loads(json.dumps(components)) == components
    recipe = RECIPES[name]
    assert components["loss"]["name"] == recipe.loss
    assert components["optimizer"]["name"] == recipe.optimizer
    _, model, model_kwargs = _workload(name)
    assert components["model"]["name"] == (recipe.model or model)
    assert [h["name"] for h in components["hooks"]] == [h for h, _ in recipe.hooks]
    # the recipe's own arguments are written down as given, the defaults beside them
    for what, given in (
        ("loss", recipe.loss_kwargs),
        ("optimizer", recipe.optimizer_kwargs),
        ("model", {**model_kwargs, **recipe.model_kwargs}),
    ):
        resolved = components[what]["kwargs"]
        for k, v in given.items():
            assert k in resolved, f"{name}: {what} argument {k!r} missing"
            assert resolved[k] == json.loads(json.dumps(v)), f"{name}: {what} {k!r}"


@pytest.mark.parametrize("name", NAMES)
def test_key_is_stable_across_resolutions(name: str) -> None:
    a, b = _spec(name), _spec(name)
    assert a.key() == b.key()
    assert a.components == b.components
    again = RunSpec.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again.key() == a.key()
    # the key is of what is trained, not of labels; a trained field changes it
    assert _spec(name, claim="other", comparison="other").key() == a.key()
    assert _spec(name, seed=1).key() != a.key()
    assert _spec(name, lr=2 * RECIPES[name].lr).key() != a.key()


def test_distinct_recipes_train_distinct_things() -> None:
    """Two recipe names resolving to the same components would be one recipe counted twice
    (they share run keys at the same learning rate)."""
    by_content: dict[str, list[str]] = {}
    for name in NAMES:
        blob = json.dumps(_spec(name, lr=0.01).components, sort_keys=True)
        by_content.setdefault(blob, []).append(name)
    assert [v for v in by_content.values() if len(v) > 1] == []
