"""NeuronBoost (Munoz 2025, arXiv:2502.01131) under ``transformers.Trainer`` equals a hand-written loop.

``examples/hf_trainer.py`` passes ``optimizers=(NeuronBoost, cosine LambdaLR)`` to the Trainer,
whose loop (through accelerate's optimizer and scheduler wrappers) runs
``gradient_accumulation_steps`` forward/backward passes with the loss divided by their number,
then ``optimizer.step()``, ``lr_scheduler.step()`` and ``model.zero_grad()``. The independent
reference is a plain float64 loop over the same samples in the same order (the Trainer samples
sequentially here) that takes one step on each concatenated group of micro-batches; with
accumulation this needs NeuronBoost's metric to cover every training forward since the last
step. Nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
import transformers
from _examples import load_example

from boostprop import NeuronBoost

ex = load_example("hf_trainer")

N = 24
BATCH = 4  # micro-batch
STEPS = 5  # crosses an epoch boundary with and without accumulation
HIDDEN = [12, 8]
SETTINGS = {"lr": 0.3, "ridge": 0.1, "cg_iters": 2, "grad_clip": 1.0}


def _model() -> torch.nn.Module:
    torch.manual_seed(5)
    return ex.MLPClassifier(20, HIDDEN, 2).double()


def _data() -> torch.utils.data.Dataset:
    return ex.TeacherDataset(N, seed=2, dtype=torch.float64)


def _reference(accumulate: int) -> tuple[list[torch.Tensor], float]:
    """Hand-written loop: one step per ``accumulate · BATCH`` consecutive samples."""
    model = _model()
    opt = NeuronBoost(model, **SETTINGS)
    sched = transformers.get_cosine_schedule_with_warmup(opt, 0, STEPS)
    data = _data()
    per_step = accumulate * BATCH
    steps = 0
    for _epoch in range(STEPS):
        for k in range(0, N - per_step + 1, per_step):
            model(data.x[k : k + per_step], labels=data.y[k : k + per_step])["loss"].backward()
            opt.step()
            sched.step()
            model.zero_grad()
            steps += 1
            if steps == STEPS:
                return [p.detach().clone() for p in model.parameters()], opt.param_groups[0]["lr"]
    raise AssertionError("fewer batches than steps")


def _trainer(accumulate: int, out: str) -> tuple[list[torch.Tensor], float, int]:
    model = _model()
    opt, sched = ex.make_optimizer(model, STEPS, **SETTINGS)
    args = ex.training_arguments(
        out,
        max_steps=STEPS,
        per_device_train_batch_size=BATCH,
        gradient_accumulation_steps=accumulate,
        train_sampling_strategy="sequential",
        use_cpu=True,
    )
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=_data(), optimizers=(opt, sched)
    )
    trainer.train()
    params = [p.detach().clone() for p in model.parameters()]
    return params, opt.param_groups[0]["lr"], trainer.state.global_step


@pytest.mark.parametrize("accumulate", [1, 2])
def test_hf_trainer_matches_hand_written_loop(accumulate: int, tmp_path) -> None:
    got, lr, global_step = _trainer(accumulate, str(tmp_path))
    ref, ref_lr = _reference(accumulate)
    assert global_step == STEPS
    # the cosine schedule was stepped once per optimizer step: it ends at 0
    assert lr == ref_lr == pytest.approx(0.0, abs=1e-12)
    init = list(_model().parameters())
    for g, r, p0 in zip(got, ref, init, strict=True):
        assert g.dtype == torch.float64
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)
        assert (g - p0.detach()).abs().max() > 1e-3  # every tensor was trained
