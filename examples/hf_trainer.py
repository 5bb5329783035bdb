"""NeuronBoost in the Hugging Face ``transformers.Trainer``: ``optimizers=(optimizer, scheduler)``.

:class:`boostprop.NeuronBoost` (Munoz 2025, "Simple Linear Neuron Boosting", arXiv:2502.01131)
takes the *model*: it hooks every ``nn.Linear`` / ``Conv1d`` / ``Conv2d`` inside it to capture their
inputs. Build it on the model you hand to the ``Trainer``, with any scheduler, and pass both::

    opt = NeuronBoost(model, lr=0.3, ridge=0.1, grad_clip=1.0)
    sched = transformers.get_cosine_schedule_with_warmup(opt, warmup_steps, max_steps)
    trainer = Trainer(model=model, args=args, train_dataset=data, optimizers=(opt, sched))

Settings that matter (see :func:`training_arguments`):

- ``max_grad_norm=0``: NeuronBoost clips the global gradient norm itself before its EMA
  (``grad_clip``, the reference's clipping). The Trainer's default (1.0) would clip ``.grad`` first.
- ``gradient_accumulation_steps=k``: the Trainer runs ``k`` training-mode forwards and backwards
  (each loss divided by ``k``) before one ``optimizer.step()``; NeuronBoost's metric then covers
  all ``k`` micro-batches, so the step equals one step on their concatenation.
- The Trainer's ``learning_rate``, ``weight_decay``, ``lr_scheduler_type`` and ``warmup_steps``
  are ignored when ``optimizers`` is given: set them on NeuronBoost and the scheduler.

The model here is a plain ``nn.Module`` whose ``forward(x, labels)`` returns ``{"loss", "logits"}``,
the contract the Trainer needs; a ``PreTrainedModel`` works the same way. Nothing is downloaded.
``tests/integrations/test_hf_trainer.py`` checks that the Trainer (with gradient accumulation and a
scheduler) ends with the parameters of a plain hand-written loop, in float64.

Usage:
    python examples/hf_trainer.py --steps 300 --batch-size 32 --accumulate 2
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
import transformers
from torch import Tensor, nn
from torch.utils.data import Dataset

from boostprop import NeuronBoost
from boostprop.data import make_teacher


class MLPClassifier(nn.Module):
    """A tanh MLP with the Trainer's calling convention: ``forward(x, labels=None) -> dict``.

    Example:
        >>> out = MLPClassifier(4, [8], 2)(torch.randn(3, 4), labels=torch.tensor([0, 1, 1]))
        >>> sorted(out), tuple(out["logits"].shape)
        (['logits', 'loss'], (3, 2))
    """

    def __init__(self, features: int, hidden: Sequence[int], classes: int) -> None:
        super().__init__()
        widths = [features, *hidden]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), nn.Tanh()]
        layers.append(nn.Linear(widths[-1], classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        logits = self.net(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels)
        return out


class TeacherDataset(Dataset[dict[str, Tensor]]):
    """The synthetic teacher task (``boostprop.data.make_teacher``) as ``{"x", "labels"}`` items.

    Example:
        >>> item = TeacherDataset(16)[0]
        >>> tuple(item["x"].shape), item["labels"].dtype
        ((20,), torch.int64)
    """

    def __init__(self, n: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> None:
        x, y = make_teacher("train", n_train=n, seed=seed)
        self.x = x.to(dtype)
        self.y = y

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


def make_optimizer(
    model: nn.Module,
    max_steps: int,
    *,
    lr: float = 0.3,
    ridge: float = 0.1,
    cg_iters: int = 2,
    grad_clip: float | None = 1.0,
    warmup_steps: int = 0,
) -> tuple[NeuronBoost, torch.optim.lr_scheduler.LambdaLR]:
    """NeuronBoost on ``model`` and ``transformers``' cosine schedule over ``max_steps`` steps.

    With ``warmup_steps > 0`` the schedule's first learning rate is 0, which NeuronBoost
    currently rejects at ``step()`` (``ValueError``: lr must be positive); its step normaliser
    makes a warm-up less needed than with SGD or Adam.

    Example:
        >>> opt, sched = make_optimizer(MLPClassifier(4, [8], 2), 100)
        >>> opt.param_groups[0]["lr"]
        0.3
    """
    opt = NeuronBoost(model, lr=lr, ridge=ridge, cg_iters=cg_iters, grad_clip=grad_clip)
    sched = transformers.get_cosine_schedule_with_warmup(opt, warmup_steps, max_steps)
    return opt, sched


def training_arguments(output_dir: str, **overrides: Any) -> transformers.TrainingArguments:
    """``TrainingArguments`` for NeuronBoost: no Trainer-side clipping, nothing saved or reported.

    Any field can be overridden (e.g. ``max_steps``, ``per_device_train_batch_size``,
    ``gradient_accumulation_steps``, ``use_cpu``).

    Example:
        >>> training_arguments("/tmp/out", max_steps=5).max_grad_norm
        0.0
    """
    settings: dict[str, Any] = {
        "output_dir": output_dir,
        "max_grad_norm": 0.0,  # NeuronBoost's grad_clip clips before its EMA
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "logging_strategy": "no",
        "dataloader_drop_last": True,  # equal micro-batches: the accumulated step is exact
    }
    settings.update(overrides)
    return transformers.TrainingArguments(**settings)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv=None``: ``sys.argv[1:]``).

    Example:
        >>> parse_args(["--steps", "5"]).steps
        5
    """
    p = argparse.ArgumentParser(
        description="Train a tanh MLP with NeuronBoost under transformers.Trainer.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--steps", type=int, default=300, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=32, help="micro-batch size per device")
    p.add_argument("--accumulate", type=int, default=2, help="gradient accumulation steps")
    p.add_argument("--n-samples", type=int, default=2048)
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--ridge", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=0, help="warm-up steps (see make_optimizer)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU is present")
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
    torch.manual_seed(args.seed)
    model = MLPClassifier(20, args.hidden, 2)
    data = TeacherDataset(args.n_samples, seed=args.seed)
    opt, sched = make_optimizer(
        model, args.steps, lr=args.lr, ridge=args.ridge, warmup_steps=args.warmup
    )
    with tempfile.TemporaryDirectory() as out:
        targs = training_arguments(
            out,
            max_steps=args.steps,
            per_device_train_batch_size=args.batch_size,
            gradient_accumulation_steps=args.accumulate,
            use_cpu=args.cpu,
            seed=args.seed,
        )
        trainer = transformers.Trainer(
            model=model, args=targs, train_dataset=data, optimizers=(opt, sched)
        )
        trainer.train()
    model.eval()
    with torch.no_grad():
        device = next(model.parameters()).device
        out_ = model(data.x.to(device), labels=data.y.to(device))
    acc = (out_["logits"].argmax(1).cpu() == data.y).double().mean().item()
    print(
        f"steps {trainer.state.global_step}: training loss {out_['loss'].item():.4f}, "
        f"accuracy {acc:.4f}"
    )


if __name__ == "__main__":
    main()
