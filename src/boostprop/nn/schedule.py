"""Training helpers for shortcut perceptrons: the transformation schedule and shortcut learning rates.

From T. Raiko, H. Valpola, Y. LeCun, "Deep Learning Made Easier by Linear Transformations in
Perceptrons", AISTATS 2012, and T. Vatanen, T. Raiko, H. Valpola, Y. LeCun, "Pushing Stochastic
Gradient towards Second-Order Methods — Backpropagation Learning with Transformations in
Nonlinearities", ICONIP 2013 (arXiv:1301.3476): the transformations are updated on every minibatch
early in training and later once per epoch on the training set; a weight that skips k extra layers
learns with lr·2^(−k).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .shortcut import ShortcutMLP

__all__ = ["TransformSchedule", "shortcut_param_groups"]


def _unwrap(model: object, name: str = "model") -> ShortcutMLP:
    """Accept a ShortcutMLP or a wrapper exposing it as ``.module`` (DistributedDataParallel)."""
    inner = model.module if isinstance(model, nn.Module) and hasattr(model, "module") else model
    if not isinstance(inner, ShortcutMLP):
        raise TypeError(
            f"{name} must be a ShortcutMLP (or a DistributedDataParallel wrapping one), "
            f"got {type(model).__name__}"
        )
    return inner


def _optional_positive_int(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int or None, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int or None, got {value}")
    return value


class TransformSchedule:
    """When to call :meth:`ShortcutMLP.update_transforms_` during training.

    Two phases:

    1. **Minibatch phase** (while ``steps <= until_step``, forever if ``until_step`` is None):
       :meth:`after_step` counts optimizer steps (``steps`` = 1 at the first call) and updates the
       transformations on the current minibatch when ``steps % every_steps == 0``.  With
       ``every_steps=None`` there is no minibatch phase.
    2. **Epoch phase** (once the minibatch phase is over, i.e. ``every_steps`` is None or
       ``steps >= until_step``): :meth:`on_epoch_end` updates the transformations on
       ``epoch_sample`` samples of the training set drawn uniformly without replacement (with
       ``generator``), or on the whole training set if ``epoch_sample`` is None or ≥ its size.
       During the minibatch phase :meth:`on_epoch_end` does nothing.

    The authors' recipe is ``TransformSchedule(model, every_steps=1, until_step=T,
    epoch_sample=...)``.  Call :meth:`after_step` right after ``optimizer.step()``, with the batch
    the step was computed on (after any input noise, if the statistics should include it).  With
    DDP every rank must call the methods at the same points (the update all-reduces); each rank
    draws its own epoch sample.

    Args:
        model: a :class:`ShortcutMLP` (or DDP wrapping one).
        every_steps: update on every ``every_steps``-th step in the minibatch phase; None: never.
        until_step: last step of the minibatch phase; None: the minibatch phase never ends.
        epoch_sample: size of the per-epoch sample of the training set; None: all of it.
        generator: random generator for the epoch sample (default: torch's global one).

    Example:
        >>> net = ShortcutMLP([4, 8, 3])
        >>> sched = TransformSchedule(net, every_steps=1, until_step=2, epoch_sample=16)
        >>> [sched.after_step(torch.randn(8, 4)) for _ in range(3)]
        [True, True, False]
        >>> sched.on_epoch_end(torch.randn(100, 4))
        True
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        every_steps: int | None = 1,
        until_step: int | None = None,
        epoch_sample: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.model = _unwrap(model)
        self.every_steps = _optional_positive_int("every_steps", every_steps)
        self.until_step = _optional_positive_int("until_step", until_step)
        self.epoch_sample = _optional_positive_int("epoch_sample", epoch_sample)
        self.generator = generator
        self.steps = 0
        self.updates = 0

    @property
    def in_minibatch_phase(self) -> bool:
        """True while :meth:`after_step` may still update (the epoch phase has not started)."""
        if self.every_steps is None:
            return False
        return self.until_step is None or self.steps < self.until_step

    def after_step(self, x_batch: Tensor) -> bool:
        """Count one step; update on ``x_batch`` if this step is due.  Returns whether it updated."""
        self.steps += 1
        if self.every_steps is None:
            return False
        if self.until_step is not None and self.steps > self.until_step:
            return False
        if self.steps % self.every_steps != 0:
            return False
        self.model.update_transforms_(x_batch)
        self.updates += 1
        return True

    def on_epoch_end(self, train_x: Tensor) -> bool:
        """In the epoch phase, update on a sample of ``train_x``.  Returns whether it updated."""
        if self.in_minibatch_phase:
            return False
        if not isinstance(train_x, Tensor):
            raise TypeError(f"train_x must be a torch.Tensor, got {type(train_x).__name__}")
        n = train_x.shape[0] if train_x.dim() > 0 else 0
        if self.epoch_sample is not None and self.epoch_sample < n:
            idx = torch.randperm(n, generator=self.generator)[: self.epoch_sample]
            train_x = train_x[idx.to(train_x.device)]
        self.model.update_transforms_(train_x)
        self.updates += 1
        return True

    def state_dict(self) -> dict[str, int]:
        """Counters, for checkpointing."""
        return {"steps": self.steps, "updates": self.updates}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore the counters saved by :meth:`state_dict`."""
        self.steps = int(state["steps"])
        self.updates = int(state["updates"])


def shortcut_param_groups(model: nn.Module, lr: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups where a weight skipping k extra layers gets ``lr · 2^(−k)``.

    Adjacent-layer weights and all biases have k = 0.  Groups are ordered by k; each has keys
    ``"params"``, ``"lr"`` and ``"skip"`` (= k).  Works with any ``torch.optim`` optimizer (and with
    learning-rate schedulers, which scale each group's lr).

    Example:
        >>> net = ShortcutMLP([4, 5, 5, 3])
        >>> [(g["skip"], g["lr"], len(g["params"])) for g in shortcut_param_groups(net, 0.8)]
        [(0, 0.8, 6), (1, 0.4, 2), (2, 0.2, 1)]
        >>> opt = torch.optim.SGD(shortcut_param_groups(net, 0.8), lr=0.8, momentum=0.9)
    """
    net = _unwrap(model)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a float, got {type(lr).__name__}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite float, got {lr}")
    by_skip: dict[int, list[nn.Parameter]] = {0: list(net.biases)}
    for m, k in net.connections:
        by_skip.setdefault(net.skip_count(m, k), []).append(net.weight(m, k))
    return [
        {"params": by_skip[k], "lr": float(lr) * 2.0 ** (-k), "skip": k} for k in sorted(by_skip)
    ]
