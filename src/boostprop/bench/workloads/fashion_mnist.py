"""Fashion-MNIST workloads (Xiao et al. 2017, arXiv:1708.07747): an MLP and a small CNN.

Example:
    >>> from boostprop.bench.workloads import get_workload
    >>> get_workload("fashion_mlp").model_kwargs["widths"]
    [256, 256]
"""

from __future__ import annotations

from boostprop.bench.presets import PresetTable
from boostprop.bench.workloads._registry import LR3, LR5, Budget, Workload, register_workload

register_workload(
    Workload(
        name="fashion_mlp",
        dataset="fashion_mnist",
        model="mlp",
        title="fashion_mnist MLP",
        model_kwargs={"widths": [256, 256]},
        budgets=PresetTable(
            smoke=Budget(2, 64, 2, (1.0,), 0.5, 256, 256, 32),
            quick=Budget(8, 128, 3, LR3, 0.83, 6000, lr_extend_max=1),
            # standard: provisional (= full) until sized by measurement (issue 14)
            standard=Budget(20, 128, 5, LR5, 0.885, None, lr_extend_max=3),
            full=Budget(20, 128, 5, LR5, 0.885, None, lr_extend_max=3),
        ),
    )
)
register_workload(
    Workload(
        name="fashion_cnn",
        dataset="fashion_mnist",
        model="cnn",
        title="fashion_mnist CNN",
        budgets=PresetTable(
            smoke=Budget(2, 64, 2, (1.0,), 0.5, 256, 256, 32),
            quick=Budget(6, 128, 3, LR3, 0.85, 6000, lr_extend_max=1),
            # standard: provisional (= full) until sized by measurement (issue 14)
            standard=Budget(15, 128, 5, LR5, 0.905, None, lr_extend_max=3),
            full=Budget(15, 128, 5, LR5, 0.905, None, lr_extend_max=3),
        ),
    )
)
