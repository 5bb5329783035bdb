"""NeuronBoost (Munoz 2025, arXiv:2502.01131) under ``lightning.Trainer`` equals a hand-written loop.

``examples/lightning_train.py``'s ``NeuronBoostClassifier`` returns ``NeuronBoost(self, ...)`` and a
per-step ``LambdaLR`` from ``configure_optimizers``; Lightning's automatic optimisation then calls
``optimizer.step(closure)`` and the scheduler after every step. The independent reference is a plain
loop over the same data order (the example's loader, ``sampler.set_epoch(epoch)`` per epoch):
forward, ``backward()``, ``step()``, ``zero_grad()``, ``sched.step()``, in float64 (Lightning's
``precision="64-true"`` converts the module and the batches). With ``accumulate_grad_batches=2``
the reference takes one step on the concatenated two micro-batches, so the check also needs
NeuronBoost's metric to cover every training forward since the last step (gradient accumulation).
"""

from __future__ import annotations

import warnings

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from _examples import load_example

from boostprop import NeuronBoost

ex = load_example("lightning_train")

N = 48
BATCH = 8  # 6 micro-batches per epoch
STEPS = 7  # crosses an epoch boundary with and without accumulation
WARMUP = 2
HIDDEN = [12, 8]
SETTINGS = {"lr": 0.3, "ridge": 0.1, "cg_iters": 2, "grad_clip": 1.0}


def _net() -> torch.nn.Sequential:
    return ex.build_net(20, HIDDEN, 2, seed=3)


def _reference(accumulate: int) -> tuple[list[torch.Tensor], float]:
    """Hand-written loop: one step per ``accumulate`` consecutive batches, concatenated."""
    net = _net().double()
    opt = NeuronBoost(net, **SETTINGS)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, ex.warmup_cosine(WARMUP, STEPS))
    loader = ex.make_loader(N, BATCH, seed=1)
    steps = 0
    for epoch in range(STEPS):
        loader.sampler.set_epoch(epoch)  # what Lightning does at every epoch start
        batches = list(loader)
        for k in range(0, len(batches), accumulate):
            xb = torch.cat([b[0] for b in batches[k : k + accumulate]]).double()
            yb = torch.cat([b[1] for b in batches[k : k + accumulate]])
            F.cross_entropy(net(xb), yb).backward()
            opt.step()
            opt.zero_grad()
            sched.step()
            steps += 1
            if steps == STEPS:
                return [p.detach().clone() for p in net.parameters()], opt.param_groups[0]["lr"]
    raise AssertionError("fewer batches than steps")


def _lightning(accumulate: int) -> tuple[list[torch.Tensor], float, int]:
    module = ex.NeuronBoostClassifier(_net(), warmup=WARMUP, total_steps=STEPS, **SETTINGS)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        precision="64-true",
        max_steps=STEPS,
        accumulate_grad_batches=accumulate,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        trainer.fit(module, ex.make_loader(N, BATCH, seed=1))
    (opt,) = trainer.optimizers
    assert isinstance(opt, NeuronBoost)
    params = [p.detach().clone() for p in module.net.parameters()]
    return params, opt.param_groups[0]["lr"], trainer.global_step


@pytest.mark.parametrize("accumulate", [1, 2])
def test_lightning_trainer_matches_hand_written_loop(accumulate: int) -> None:
    got, lr, global_step = _lightning(accumulate)
    ref, ref_lr = _reference(accumulate)
    assert global_step == STEPS
    # the scheduler was stepped once per optimizer step (not per epoch, not per micro-batch)
    assert lr == ref_lr == pytest.approx(SETTINGS["lr"] * ex.warmup_cosine(WARMUP, STEPS)(STEPS))
    init = list(_net().double().parameters())
    for g, r, p0 in zip(got, ref, init, strict=True):
        assert g.dtype == torch.float64
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)
        assert (g - p0.detach()).abs().max() > 1e-3  # every tensor was trained
