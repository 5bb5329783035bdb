"""NeuronBoost in PyTorch Lightning: ``configure_optimizers`` returns it, with a per-step schedule.

:class:`boostprop.NeuronBoost` (Munoz 2025, "Simple Linear Neuron Boosting", arXiv:2502.01131)
takes the *model*, not its parameters: it registers forward hooks on every ``nn.Linear`` /
``Conv1d`` / ``Conv2d`` inside it to capture their inputs. In a ``LightningModule`` that model is
``self``::

    def configure_optimizers(self):
        opt = NeuronBoost(self, lr=0.3, ridge=0.1, cg_iters=2)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(warmup, total))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

Lightning's automatic optimisation calls ``optimizer.step(closure)``; NeuronBoost runs the closure
(``training_step``, then ``backward``) first, so the hooks have seen the batch when the step
preconditions the gradient. ``accumulate_grad_batches=k`` runs ``k`` micro-batches per step, the
loss divided by ``k``. ``tests/integrations/test_lightning.py`` checks that this script's module
trained by a ``lightning.Trainer`` ends with the parameters of a plain hand-written loop (same
settings, data order, steps and schedule), in float64. Learning rate and ridge must be plain floats
here, because the torch scheduler writes ``param_groups[0]["lr"]``. See ``docs/neuron_boost.md``
("Frameworks and FSDP2").

Usage:
    python examples/lightning_train.py --steps 300 --batch-size 64
    python examples/lightning_train.py --accumulate 4 --batch-size 16 --precision 64-true
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from boostprop import NeuronBoost
from boostprop.data import make_teacher


def warmup_cosine(warmup: int, total: int, floor: float = 0.1) -> Callable[[int], float]:
    """Learning-rate factor of step ``t``: linear warm-up to 1, then cosine decay to ``floor``.

    Example:
        >>> f = warmup_cosine(2, 10)
        >>> [round(f(t), 3) for t in (0, 1, 2, 10)]
        [0.5, 1.0, 1.0, 0.1]
    """
    if warmup < 0 or total < 1:
        raise ValueError(f"need warmup >= 0 and total >= 1, got {warmup} and {total}")

    def factor(t: int) -> float:
        if t < warmup:
            return (t + 1) / warmup
        progress = min(1.0, (t - warmup) / max(1, total - warmup))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def build_net(features: int, hidden: Sequence[int], classes: int, seed: int = 0) -> nn.Sequential:
    """A tanh MLP ``features → hidden… → classes``, initialised from ``seed``.

    Example:
        >>> build_net(4, [8], 2)(torch.randn(3, 4)).shape
        torch.Size([3, 2])
    """
    torch.manual_seed(seed)
    widths = [features, *hidden]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.Tanh()]
    layers.append(nn.Linear(widths[-1], classes))
    return nn.Sequential(*layers)


class NeuronBoostClassifier(L.LightningModule):
    """A classifier trained by NeuronBoost with a warm-up/cosine learning-rate schedule per step.

    Args:
        net: the network (any module; its Linear/Conv layers are preconditioned).
        lr: peak learning rate.
        ridge: NeuronBoost's ridge ``γ``.
        cg_iters: conjugate-gradient iterations per step.
        warmup: warm-up steps of the schedule.
        total_steps: steps of the whole schedule (the cosine reaches its floor there).
        grad_clip: NeuronBoost's global gradient-norm clip before its EMA (``None``: off).

    Example:
        >>> module = NeuronBoostClassifier(build_net(4, [8], 2), total_steps=10)
        >>> type(module.configure_optimizers()["optimizer"]).__name__
        'NeuronBoost'
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        lr: float = 0.3,
        ridge: float = 0.1,
        cg_iters: int = 2,
        warmup: int = 10,
        total_steps: int = 300,
        grad_clip: float | None = 1.0,
    ) -> None:
        super().__init__()
        self.net = net
        self.lr = lr
        self.ridge = ridge
        self.cg_iters = cg_iters
        self.warmup = warmup
        self.total_steps = total_steps
        self.grad_clip = grad_clip

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss.detach(), prog_bar=True)
        return loss

    def configure_optimizers(self) -> Any:
        # The model handed to NeuronBoost is the LightningModule itself: the hooks sit on its
        # Linear layers, whichever way Lightning calls them.
        opt = NeuronBoost(
            self,
            lr=self.lr,
            ridge=self.ridge,
            cg_iters=self.cg_iters,
            grad_clip=self.grad_clip,
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(self.warmup, self.total_steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def make_loader(n: int, batch_size: int, seed: int = 0) -> DataLoader[tuple[Tensor, ...]]:
    """The training set of the synthetic teacher task (``boostprop.data.make_teacher``), shuffled
    per epoch from ``(seed, epoch)``.

    The order comes from a ``DistributedSampler`` over one replica: Lightning calls its
    ``set_epoch`` at every epoch start, and its permutation does not depend on how often the
    loader was iterated (Lightning iterates it once to check it, which would advance a shuffling
    ``torch.Generator``), so a plain loop reproduces it with ``loader.sampler.set_epoch(epoch)``.

    Example:
        >>> xb, yb = next(iter(make_loader(32, 8)))
        >>> tuple(xb.shape)
        (8, 20)
    """
    x, y = make_teacher("train", n_train=n, seed=seed)
    data = TensorDataset(x, y)
    sampler: DistributedSampler[tuple[Tensor, ...]] = DistributedSampler(
        data, num_replicas=1, rank=0, shuffle=True, seed=seed
    )
    return DataLoader(data, batch_size=batch_size, sampler=sampler)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv=None``: ``sys.argv[1:]``).

    Example:
        >>> parse_args(["--steps", "5"]).steps
        5
    """
    p = argparse.ArgumentParser(
        description="Train a tanh MLP with NeuronBoost under lightning.Trainer.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--steps", type=int, default=300, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=64, help="micro-batch size")
    p.add_argument("--accumulate", type=int, default=1, help="micro-batches per step")
    p.add_argument("--n-samples", type=int, default=2048)
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--ridge", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--precision", choices=("32-true", "64-true"), default="32-true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in ("steps", "batch_size", "accumulate", "n_samples"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Train and print the final training loss and accuracy.

    Example:
        >>> main(["--steps", "2", "--n-samples", "64"])  # doctest: +SKIP
    """
    args = parse_args(argv)
    module = NeuronBoostClassifier(
        build_net(20, args.hidden, 2, seed=args.seed),
        lr=args.lr,
        ridge=args.ridge,
        warmup=args.warmup,
        total_steps=args.steps,
    )
    loader = make_loader(args.n_samples, args.batch_size, seed=args.seed)
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        max_steps=args.steps,
        accumulate_grad_batches=args.accumulate,
        precision=args.precision,
        logger=False,
        enable_checkpointing=False,
    )
    trainer.fit(module, loader)
    module.eval()
    dtype = torch.float64 if args.precision == "64-true" else torch.float32
    x, y = make_teacher("train", n_train=args.n_samples, seed=args.seed)
    with torch.no_grad():
        logits = module(x.to(module.device, dtype))
    loss = F.cross_entropy(logits, y.to(module.device)).item()
    acc = (logits.argmax(1).cpu() == y).double().mean().item()
    print(f"steps {trainer.global_step}: training loss {loss:.4f}, accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
