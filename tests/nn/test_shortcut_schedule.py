"""TransformSchedule: when the transformations are updated (Raiko et al. 2012 training recipe)."""

from __future__ import annotations

import torch
from torch import Tensor

from boostprop.nn import ShortcutMLP, TransformSchedule


class _Recorder(ShortcutMLP):
    """A ShortcutMLP that records the batches update_transforms_ is called with."""

    def __init__(self) -> None:
        super().__init__([3, 4, 2])
        self.calls: list[Tensor] = []

    def update_transforms_(self, x: Tensor, *, process_group: object = None) -> None:
        self.calls.append(x)
        super().update_transforms_(x)


def test_minibatch_then_epoch_phase() -> None:
    net = _Recorder()
    sched = TransformSchedule(net, every_steps=3, until_step=7, epoch_sample=5)
    batches = [torch.full((4, 3), float(i)) for i in range(1, 10)]
    updated = []
    for i, b in enumerate(batches, start=1):
        if sched.after_step(b):
            updated.append(i)
        if i == 4:  # epoch end inside the minibatch phase: nothing
            assert sched.in_minibatch_phase
            assert not sched.on_epoch_end(torch.randn(20, 3))
    assert updated == [3, 6]
    assert [float(c[0, 0]) for c in net.calls] == [3.0, 6.0]
    assert not sched.in_minibatch_phase
    train_x = torch.arange(60.0).reshape(20, 3)
    assert sched.on_epoch_end(train_x)
    sample = net.calls[-1]
    assert sample.shape == (5, 3)
    rows = {tuple(r.tolist()) for r in train_x}
    assert len({tuple(r.tolist()) for r in sample}) == 5
    assert {tuple(r.tolist()) for r in sample} <= rows
    assert sched.updates == 3
    assert sched.state_dict() == {"steps": 9, "updates": 3}


def test_every_step_forever_and_epoch_only() -> None:
    net = _Recorder()
    sched = TransformSchedule(net)  # every_steps=1, until_step=None
    for _ in range(4):
        assert sched.after_step(torch.randn(5, 3))
    assert not sched.on_epoch_end(torch.randn(10, 3))
    assert len(net.calls) == 4

    net2 = _Recorder()
    sched2 = TransformSchedule(net2, every_steps=None)  # epoch updates on the whole set
    assert not sched2.after_step(torch.randn(5, 3))
    train_x = torch.randn(12, 3)
    assert sched2.on_epoch_end(train_x)
    assert torch.equal(net2.calls[0], train_x)
    # the schedule really updates the model: unit means are zero on the epoch set
    pre = net2.hidden_preactivations(train_x)[0]
    u = net2.units[0]
    out = u.gamma * (torch.tanh(pre) + u.alpha * pre + u.beta)
    assert float(out.mean(0).abs().max()) < 1e-6


def test_accepts_a_wrapper_with_module() -> None:
    """DistributedDataParallel exposes the network as ``.module``; the schedule unwraps it."""

    class Wrapper(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

    net = _Recorder()
    sched = TransformSchedule(Wrapper(net), every_steps=2)
    assert sched.model is net
    assert [sched.after_step(torch.randn(4, 3)) for _ in range(4)] == [False, True, False, True]
    assert len(net.calls) == 2
