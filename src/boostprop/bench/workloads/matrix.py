"""Low-rank matrix completion (issue 14; Munoz 2025's matrix-factorisation workload): the zoo's
``matrix_factorization`` (``u_i · v_j`` + row, column and global biases, rank 10) on
``matrix_completion`` (a 500×400 rank-8 matrix plus N(0, 0.1²) noise, 20% observed). The metric
is validation RMSE, lower is better (the noise floor is 0.1).

Example:
    >>> from boostprop.bench.presets import Preset
    >>> from boostprop.bench.workloads import get_workload
    >>> get_workload("matrix_completion").model_kwargs["n_rows"]
    500
"""

from __future__ import annotations

from boostprop.bench.presets import PresetTable
from boostprop.bench.workloads._registry import LR5, Budget, Workload, register_workload

# Budgets provisional until measured (issue 14).
register_workload(
    Workload(
        name="matrix_completion",
        dataset="matrix_completion",
        model="matrix_factorization",
        title="matrix completion 500×400 rank 8, MF rank 10 (validation RMSE)",
        # the data set's shape (boostprop.data.matrix.MATRIX_SHAPE); rank 10 ≥ the true rank 8
        model_kwargs={"n_rows": 500, "n_cols": 400, "rank": 10},
        budgets=PresetTable(
            smoke=Budget(2, 256, 2, (1.0,), 1.5, 2048, 512),
            quick=Budget(10, 256, 3, LR5, 0.2, None, lr_extend_max=1),
            standard=Budget(20, 256, 5, LR5, 0.2, None, lr_extend_max=3),
            full=Budget(40, 256, 5, LR5, 0.2, None, lr_extend_max=3),
        ),
    )
)
