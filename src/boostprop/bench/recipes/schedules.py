"""Learning-rate schedules as training hooks: cosine annealing and step decay.

The papers' own protocols need them. Wang, Veluswami, Mishra and Ravi (2023), "Accelerated
Neural Network Training with Rooted Logistic Objectives" (arXiv:2310.03890), train with Adam
under cosine annealing (the authors' code: ``CosineAnnealingLR(optimizer, n_epochs)``, stepped
once per epoch). The step decay ×0.1 at fixed fractions of the run is the CIFAR-10 schedule of
He, Zhang, Ren and Sun (2016), "Deep Residual Learning for Image Recognition"
(arXiv:1512.03385), which the Øland et al. (2017, arXiv:1707.04199) paper protocol uses.

A schedule is a :data:`~boostprop.bench.recipes.HOOKS` entry that a recipe names in its
``hooks``. The runner calls ``bind(optimizer, steps_per_epoch, epochs)`` once: the schedule
remembers each parameter group's learning rate (the run's learning rate, or a group's own
multiple of it) as that group's base, and from then on sets every group to its base times the
schedule's factor after each optimizer step (``interval="step"``) or after each epoch
(``interval="epoch"``). The factor depends only on the fraction of the run done, so a schedule
scales with the preset's epochs, and learning-rate tuning scales the whole schedule.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> hook = HOOKS["cosine"](model, interval="epoch")
    >>> hook.bind(opt, steps_per_epoch=3, epochs=2)
    >>> hook.on_epoch_end(torch.zeros(1, 2))
    >>> round(opt.param_groups[0]["lr"], 6)  # half-way: half the base learning rate
    0.05
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from boostprop.bench.recipes._registry import HOOKS, TrainHook

INTERVALS = ("step", "epoch")


class LRSchedule:
    """A learning-rate schedule driven by the runner's hook calls (the base of
    :class:`Cosine` and :class:`StepDecay`): after ``bind``, every parameter group's learning
    rate is its base times :meth:`factor` of the steps (or epochs) done so far.

    Example:
        >>> s = Cosine(interval="step")
        >>> s.factor(0, 4), s.factor(4, 4)
        (1.0, 0.0)
    """

    def __init__(self, interval: str) -> None:
        if interval not in INTERVALS:
            raise ValueError(f"interval: expected one of {INTERVALS}, got {interval!r}")
        self.interval = interval
        self._optimizer: torch.optim.Optimizer | None = None
        self._base: list[float] = []
        self.done = 0  # steps or epochs done (per ``interval``)
        self.total = 0  # steps or epochs of the whole run

    def factor(self, done: int, total: int) -> float:
        """The learning-rate multiplier after ``done`` of ``total`` steps (or epochs)."""
        raise NotImplementedError

    def bind(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int) -> None:
        """Take each parameter group's current learning rate as its base and set the
        schedule's first value (the runner calls this once, before training)."""
        for name, value in (("steps_per_epoch", steps_per_epoch), ("epochs", epochs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        self._optimizer = optimizer
        self._base = [float(g["lr"]) for g in optimizer.param_groups]
        self.total = steps_per_epoch * epochs if self.interval == "step" else epochs
        self.done = 0
        self._apply()

    def _apply(self) -> None:
        if self._optimizer is None:
            raise RuntimeError(
                f"{type(self).__name__}: bind(optimizer, steps_per_epoch, epochs) must be called "
                "before training (the runner calls it when the run is built)"
            )
        f = self.factor(min(self.done, self.total), self.total)
        for group, base in zip(self._optimizer.param_groups, self._base, strict=True):
            group["lr"] = base * f

    def after_step(self, x: torch.Tensor) -> None:
        """After every optimizer step: advance a per-step schedule."""
        if self.interval == "step":
            self.done += 1
            self._apply()

    def on_epoch_end(self, train_x: torch.Tensor) -> None:
        """After every epoch: advance a per-epoch schedule."""
        if self.interval == "epoch":
            self.done += 1
            self._apply()


class Cosine(LRSchedule):
    """Cosine annealing from the base learning rate to ``min_factor`` times it over the run
    (Loshchilov and Hutter 2017, without restarts): after ``t`` of ``T`` steps or epochs the
    factor is ``min_factor + (1 − min_factor)·(1 + cos(π t / T)) / 2``, the closed form of
    ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min=min_factor·lr)`` stepped as
    often.

    Example:
        >>> Cosine(interval="epoch").factor(1, 2)
        0.5
    """

    def __init__(self, *, min_factor: float = 0.0, interval: str = "step") -> None:
        super().__init__(interval)
        if not (isinstance(min_factor, (int, float)) and 0.0 <= min_factor <= 1.0):
            raise ValueError(f"min_factor: expected a number in [0, 1], got {min_factor!r}")
        self.min_factor = float(min_factor)

    def factor(self, done: int, total: int) -> float:
        """``min_factor + (1 − min_factor)·(1 + cos(π·done/total)) / 2``."""
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (
            1.0 + math.cos(math.pi * done / total)
        )


class StepDecay(LRSchedule):
    """The learning rate times ``gamma`` at each milestone, a fraction of the run: after ``t``
    of ``T`` steps or epochs the factor is ``gamma^k`` with ``k`` the number of milestones
    ``m`` with ``t ≥ ceil(m·T)``, the schedule of
    ``torch.optim.lr_scheduler.MultiStepLR(milestones=[ceil(m·T), ...], gamma=gamma)``.

    Example:
        >>> s = StepDecay(milestones=(0.5, 0.75), interval="epoch")
        >>> [round(s.factor(t, 4), 6) for t in range(5)]
        [1.0, 1.0, 0.1, 0.01, 0.01]
    """

    def __init__(
        self,
        *,
        milestones: Sequence[float] = (0.5, 0.75),
        gamma: float = 0.1,
        interval: str = "epoch",
    ) -> None:
        super().__init__(interval)
        ms = tuple(milestones) if isinstance(milestones, (list, tuple)) else None
        if (
            not ms
            or not all(isinstance(m, (int, float)) and 0.0 < m < 1.0 for m in ms)
            or list(ms) != sorted(set(ms))
        ):
            raise ValueError(
                "milestones: expected increasing fractions of the run in (0, 1), got "
                f"{milestones!r}"
            )
        if not (isinstance(gamma, (int, float)) and 0.0 < gamma <= 1.0):
            raise ValueError(f"gamma: expected a number in (0, 1], got {gamma!r}")
        self.milestones = tuple(float(m) for m in ms)
        self.gamma = float(gamma)

    def boundaries(self, total: int) -> list[int]:
        """The steps (or epochs) done after which each decay applies: ``ceil(m·total)``."""
        return [math.ceil(m * total) for m in self.milestones]

    def factor(self, done: int, total: int) -> float:
        """``gamma`` to the number of milestones passed."""
        return self.gamma ** sum(done >= b for b in self.boundaries(total))


def cosine(model: nn.Module, *, min_factor: float = 0.0, interval: str = "step") -> TrainHook:
    """The :class:`Cosine` schedule as a recipe hook (``model`` is not used).

    Example:
        >>> cosine(nn.Linear(2, 1), interval="epoch").interval
        'epoch'
    """
    return Cosine(min_factor=min_factor, interval=interval)


def step_decay(
    model: nn.Module,
    *,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    interval: str = "epoch",
) -> TrainHook:
    """The :class:`StepDecay` schedule as a recipe hook (``model`` is not used).

    Example:
        >>> step_decay(nn.Linear(2, 1)).milestones
        (0.5, 0.75)
    """
    return StepDecay(milestones=milestones, gamma=gamma, interval=interval)


HOOKS["cosine"] = cosine
HOOKS["step-decay"] = step_decay
