"""The authors' training loop of Raiko et al. (2012) / Vatanen et al. (2013), as a training hook.

Read from ``ltmlp_train2.m`` of github.com/tvatanen/ltmlp-neuralnet (the ICONIP 2013 MNIST demo,
``ltmlp_demo3.m``), on every minibatch, in this order:

1. Gaussian noise σ = 0.3 is added to the minibatch (in the units of the authors' data:
   zero-mean pixels in [0, 1]);
2. the transformations are updated on the noisy minibatch, while no validation result exists
   yet (the first epoch) or the last validation error count is above 100 of 10,000; afterwards
   once at each epoch boundary, on the whole training set with fresh noise;
3. forward, backward and the step, on the same noisy minibatch: the gradient is that of the
   transformed parametrisation (transform, then step);
4. the step is SGD with momentum ``v = g + m·v; p −= lr·v``: biases m = 0.9 throughout; weights
   m rising linearly 0.5 → 0.9 over the burn-in epochs; after burn-in the weights' m is 0.5
   again and the learning rate is multiplied by 0.9 every epoch; a weight that skips k layers
   has lr·2^(−k). Momentum buffers are not transformed.

:class:`RaikoProtocol` does 1, 2 and the schedule of 4 in the runner's optional hook methods
(``bind``, ``train_inputs``, ``after_validation``); the ``sgd-raiko`` optimizer gives 4's
parameter groups. :class:`PixelShortcutMLP` multiplies the runner's standardised inputs by the
data's pixel standard deviation first, so the network, the noise and the learning rates meet
inputs at the authors' scale.

Example:
    >>> net = PixelShortcutMLP([4, 8, 3], input_scale=0.5)
    >>> hook = RaikoProtocol(net, noise_seed=0)
    >>> hook.bind(sgd_raiko(net, 0.7), steps_per_epoch=10, epochs=6)
    >>> hook.train_inputs(torch.zeros(5, 4)).std().item() > 0  # noisy
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from boostprop.bench.components import forwards_to
from boostprop.bench.recipes._registry import HOOKS, OPTIMIZERS
from boostprop.models import MODELS, register_model
from boostprop.nn import ShortcutMLP, shortcut_param_groups

__all__ = [
    "FASHION_PIXEL_STD",
    "PixelShortcutMLP",
    "RaikoProtocol",
    "schedule_at",
    "sgd_raiko",
    "shortcut_mlp_paper",
]

#: Standard deviation of the 54,000 Fashion-MNIST training images' pixels in [0, 1]: the runner
#: standardises inputs by it, and ``input_scale`` undoes that (the authors' data are zero-mean
#: pixels in [0, 1]). tests/bench/test_raiko_paper.py checks it against the data.
FASHION_PIXEL_STD = 0.3531


class PixelShortcutMLP(ShortcutMLP):
    """A :class:`~boostprop.nn.ShortcutMLP` that multiplies its inputs by ``input_scale`` first
    (in :meth:`forward` and in :meth:`update_transforms_` alike, so the function is still
    unchanged by a transformation update).

    The runner feeds inputs standardised to unit variance; with ``input_scale`` the data's pixel
    standard deviation the network sees zero-mean pixels in [0, 1] as in the authors' code, so
    their input noise σ = 0.3 and learning rates mean what they meant there.

    Example:
        >>> net = PixelShortcutMLP([2, 3, 2], input_scale=0.5)
        >>> x = torch.randn(4, 2)
        >>> ref = ShortcutMLP([2, 3, 2])
        >>> _ = ref.load_state_dict(net.state_dict())
        >>> bool(torch.allclose(net(x), ref(0.5 * x)))
        True
    """

    def __init__(
        self,
        sizes: list[int] | tuple[int, ...],
        *,
        input_scale: float = 1.0,
        transforms: str = "alpha_beta",
        gamma: str = "balance",
        shortcuts: bool = True,
        output: str = "linear",
    ) -> None:
        if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)):
            raise TypeError(f"input_scale must be a float, got {type(input_scale).__name__}")
        if not input_scale > 0:
            raise ValueError(f"input_scale must be positive, got {input_scale}")
        super().__init__(
            sizes, transforms=transforms, gamma=gamma, shortcuts=shortcuts, output=output
        )
        self.input_scale = float(input_scale)

    def _flatten_input(self, x: Tensor, name: str = "x") -> Tensor:
        return super()._flatten_input(x, name) * self.input_scale

    def extra_repr(self) -> str:
        """The :class:`ShortcutMLP` description and the input scale."""
        return f"{super().extra_repr()}, input_scale={self.input_scale}"


def shortcut_mlp_paper(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    widths: list[int],
    input_scale: float = 1.0,
    transforms: str = "alpha_beta",
    gamma: str = "balance",
    shortcuts: bool = True,
) -> nn.Module:
    """A :class:`PixelShortcutMLP` ``in → widths… → n_classes`` (registered as
    ``"shortcut-mlp-paper"``).

    Example:
        >>> shortcut_mlp_paper((1, 2, 2), 3, widths=[5], input_scale=0.35).sizes
        (4, 5, 3)
    """
    n_in = 1
    for d in input_shape:
        n_in *= int(d)
    return PixelShortcutMLP(
        [n_in, *widths, n_classes],
        input_scale=input_scale,
        transforms=transforms,
        gamma=gamma,
        shortcuts=shortcuts,
    )


def sgd_raiko(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """SGD with the authors' parameter groups: biases (``role="bias"``, momentum 0.9) and the
    weights by skip count k (``role="weight"``, lr·2^(−k), momentum 0.5 until a
    :class:`RaikoProtocol` hook schedules it). ``torch.optim.SGD``'s update ``v = m·v + g;
    p −= lr·v`` is the code's (no dampening, the first ``v`` is ``g``).

    Example:
        >>> groups = sgd_raiko(ShortcutMLP([4, 5, 5, 3]), 0.8).param_groups
        >>> [(g["role"], g["skip"], g["lr"], g["momentum"]) for g in groups]
        [('bias', 0, 0.8, 0.9), ('weight', 0, 0.8, 0.5), ('weight', 1, 0.4, 0.5), ('weight', 2, 0.2, 0.5)]
    """
    if not isinstance(model, ShortcutMLP):
        raise TypeError(f"model: sgd-raiko needs a ShortcutMLP, got {type(model).__name__}")
    biases = {id(b) for b in model.biases}
    groups: list[dict[str, Any]] = [
        {"params": list(model.biases), "lr": float(lr), "momentum": 0.9, "role": "bias", "skip": 0}
    ]
    for g in shortcut_param_groups(model, lr):
        weights = [p for p in g["params"] if id(p) not in biases]
        if weights:
            groups.append(
                {
                    "params": weights,
                    "lr": g["lr"],
                    "momentum": 0.5,
                    "role": "weight",
                    "skip": g["skip"],
                }
            )
    return torch.optim.SGD(groups, lr=lr, momentum=0.5)


def schedule_at(
    epoch: int,
    burnin: int,
    *,
    mominit: float = 0.5,
    momentum: float = 0.9,
    ratedecay: float = 0.9,
) -> tuple[float, float]:
    """(weight momentum, learning-rate factor) during ``epoch`` (counted from 1), as
    ``ltmlp_train2.m`` sets them at the end of each epoch e (< burn-in: m = e/B·0.9 +
    (1 − e/B)·0.5; ≥ burn-in: m = 0.5 and lr × 0.9).

    Example:
        >>> [schedule_at(e, 2) for e in (1, 2, 3, 4)]
        [(0.5, 1.0), (0.7, 1.0), (0.5, 0.9), (0.5, 0.81)]
    """
    if epoch < 1 or burnin < 1:
        raise ValueError(f"epoch and burnin must be ≥ 1, got epoch={epoch}, burnin={burnin}")
    done = epoch - 1  # epochs finished before this one
    if done < burnin:
        frac = done / burnin
        return frac * momentum + (1 - frac) * mominit, 1.0
    return mominit, ratedecay ** (done - burnin + 1)


class RaikoProtocol:
    """The authors' loop around the step: input noise, when to update the transformations, the
    momentum and learning-rate schedule (see the module docstring for the code it follows).

    Args:
        model: a :class:`~boostprop.nn.ShortcutMLP` (its ``input_scale``, if any, is the data's
            pixel standard deviation; the noise is added in those pixel units).
        input_noise: σ of the Gaussian noise on every training minibatch, in pixel units.
        noise_seed: seed of the noise generator; None: drawn from torch's global generator when
            the hook is built (the runner seeds it with the run's seed, so runs are repeatable).
        switch_error_rate: per-minibatch updates while the last validation error rate is above
            this (the authors' 100 errors of 10,000 = 0.01); at or below it, one update per epoch
            on the whole training set. The rule is re-read after every validation, as in the code.
        burnin: burn-in epochs; None: a third of the run's epochs, at least 1 (the authors' 50
            of 150).
        mominit, momentum, ratedecay: the weights' momentum before and at the end of burn-in
            (the biases' is ``momentum`` throughout) and the per-epoch lr decay after it.

    Example:
        >>> net = ShortcutMLP([4, 6, 3])
        >>> hook = RaikoProtocol(net, input_noise=0.0)
        >>> opt = sgd_raiko(net, 0.7)
        >>> hook.bind(opt, steps_per_epoch=2, epochs=3)
        >>> _ = hook.train_inputs(torch.randn(8, 4))
        >>> hook.transform_updates, [g["momentum"] for g in opt.param_groups]
        (1, [0.9, 0.5, 0.5])
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        input_noise: float = 0.3,
        noise_seed: int | None = None,
        switch_error_rate: float = 0.01,
        burnin: int | None = None,
        mominit: float = 0.5,
        momentum: float = 0.9,
        ratedecay: float = 0.9,
    ) -> None:
        if not isinstance(model, ShortcutMLP):
            raise TypeError(
                f"model: raiko-protocol needs a ShortcutMLP, got {type(model).__name__}"
            )
        if not input_noise >= 0:
            raise ValueError(f"input_noise: expected σ ≥ 0, got {input_noise!r}")
        if not 0 <= switch_error_rate <= 1:
            raise ValueError(
                f"switch_error_rate: expected a rate in [0, 1], got {switch_error_rate!r}"
            )
        if burnin is not None and (
            isinstance(burnin, bool) or not isinstance(burnin, int) or burnin < 1
        ):
            raise ValueError(
                f"burnin: expected a positive number of epochs or None, got {burnin!r}"
            )
        for name, value in (("mominit", mominit), ("momentum", momentum)):
            if not 0 <= value < 1:
                raise ValueError(f"{name}: expected a momentum in [0, 1), got {value!r}")
        if not 0 < ratedecay <= 1:
            raise ValueError(f"ratedecay: expected a factor in (0, 1], got {ratedecay!r}")
        self.model = model
        self.input_noise = float(input_noise)
        if noise_seed is None:
            noise_seed = int(torch.randint(0, 2**62, (1,)))
        self.generator = torch.Generator().manual_seed(int(noise_seed))
        self.switch_error_rate = float(switch_error_rate)
        self.burnin_arg = burnin
        self.mominit, self.momentum, self.ratedecay = mominit, momentum, ratedecay
        self.transforms = model.transforms != "none"
        self.minibatch_updates = True  # no validation result yet: the first epoch
        self.steps = 0
        self.transform_updates = 0
        self.epoch_updates = 0
        self.optimizer: torch.optim.Optimizer | None = None
        self.steps_per_epoch = 0
        self.burnin = 0
        self._train_x: Tensor | None = None

    # ------------------------------------------------------------------ runner hook methods
    def bind(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int) -> None:
        """Take the run's optimizer (an ``sgd-raiko`` one) and its length."""
        roles = [g.get("role") for g in optimizer.param_groups]
        if not isinstance(optimizer, torch.optim.SGD) or set(roles) != {"bias", "weight"}:
            raise ValueError(
                "optimizer: the raiko-protocol hook schedules the biases' and weights' momentum "
                "separately and needs the 'sgd-raiko' optimizer (SGD with parameter groups of "
                f"role 'bias' and 'weight'), got {type(optimizer).__name__} with roles {roles}"
            )
        for g in optimizer.param_groups:
            g.setdefault("base_lr", g["lr"])
        self.optimizer = optimizer
        self.steps_per_epoch = int(steps_per_epoch)
        self.burnin = self.burnin_arg or max(1, round(epochs / 3))
        self._set_schedule(1)

    @property
    def epoch(self) -> int:
        """The epoch of the next training step (from 1)."""
        return self.steps // max(self.steps_per_epoch, 1) + 1

    def _set_schedule(self, epoch: int) -> None:
        assert self.optimizer is not None
        m_w, factor = schedule_at(
            epoch,
            self.burnin,
            mominit=self.mominit,
            momentum=self.momentum,
            ratedecay=self.ratedecay,
        )
        for g in self.optimizer.param_groups:
            g["momentum"] = self.momentum if g["role"] == "bias" else m_w
            g["lr"] = g["base_lr"] * factor

    def _noisy(self, x: Tensor) -> Tensor:
        if self.input_noise == 0:
            return x
        scale = self.input_noise / getattr(self.model, "input_scale", 1.0)
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return x + scale * noise.to(x.device)

    def train_inputs(self, x: Tensor) -> Tensor:
        """Before the forward pass: the epoch's momentum and lr at its first step, the noisy
        batch, and the transformation update the code makes at this point (on the noisy batch,
        or at an epoch boundary after the switch on the whole noisy training set)."""
        if self.optimizer is None:
            raise RuntimeError(
                "raiko-protocol: call bind(optimizer, steps_per_epoch, epochs) first"
            )
        first_of_epoch = self.steps % self.steps_per_epoch == 0
        if first_of_epoch:
            self._set_schedule(self.epoch)
        xb = self._noisy(x)
        if self.transforms:
            if self.minibatch_updates:
                self.model.update_transforms_(xb)
                self.transform_updates += 1
            elif first_of_epoch and self.steps > 0:
                if self._train_x is None:
                    raise RuntimeError("raiko-protocol: on_epoch_end(train_x) was not called")
                self.model.update_transforms_(self._noisy(self._train_x))
                self.transform_updates += 1
                self.epoch_updates += 1
        self.steps += 1
        return xb

    def after_step(self, x: Tensor) -> None:
        """Nothing after the step: the code transforms before it."""

    def on_epoch_end(self, train_x: Tensor) -> None:
        """Keep the training inputs for an epoch-boundary update (made at the next step)."""
        self._train_x = train_x

    def after_validation(self, epoch: int, val_loss: float, val_acc: float, n_val: int) -> None:
        """The switch rule: per-minibatch updates while validation errors exceed the rate."""
        errors = round((1.0 - val_acc) * n_val)
        self.minibatch_updates = errors > self.switch_error_rate * n_val


@forwards_to(RaikoProtocol, skip=1)
def raiko_protocol(model: nn.Module, **kwargs: Any) -> RaikoProtocol:
    """The hook factory (``"raiko-protocol"``): :class:`RaikoProtocol` ``(model, **kwargs)``.

    Example:
        >>> raiko_protocol(ShortcutMLP([2, 3, 2]), burnin=50).burnin_arg
        50
    """
    return RaikoProtocol(model, **kwargs)


if "shortcut-mlp-paper" not in MODELS:
    register_model("shortcut-mlp-paper", shortcut_mlp_paper)
OPTIMIZERS["sgd-raiko"] = sgd_raiko
HOOKS["raiko-protocol"] = raiko_protocol
