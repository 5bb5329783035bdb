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

# Measured (seed 0, one thread; a plain loop with the runner's conventions): 20 epochs of the
# 32,000 training entries at batch 256 = 2,500 steps take 3.2–4.5 CPU s with Adam, 2.4–2.9 with
# SGD, NeuronBoost (lr 0.1) 7.6 s (≈ 1.85× Adam; its RMSE 0.137 at epoch 20); validation is
# negligible. Munoz's 4 recipes, 12 runs each: 12 × (2 × 8 s + 4 s + 3 s) ≈ 5 CPU minutes.
# Validation RMSE per epoch: Adam lr 1e-2 (the ×10 edge of its grid): 1.008 0.789 0.534 0.331
# 0.216 0.164 0.144 0.136 0.132 0.132 0.132 0.135 … 0.146 (rank 10 > 8 and no regularisation:
# it overfits after epoch 10); 3e-2: min 0.187 at epoch 4; 3e-3: 0.151 at epoch 20. SGD+momentum
# lr 0.5 (its grid's ×10 edge): … 0.199 0.169 0.152 0.143 0.137 0.133 (epochs 9–14) … 0.125;
# 0.15: 0.461 at epoch 20. Both optima sit at the top edge of the default grids (the extension
# finds them: lr_extend_max). Target 0.14 (standard, 20 epochs): Adam at epoch 8, SGD at 13.
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
            # quick: no claim runs it in its quick preset; Adam 1e-2 gets 0.216 at epoch 5
            quick=Budget(10, 256, 3, LR5, 0.2, None, lr_extend_max=1),
            standard=Budget(20, 256, 5, LR5, 0.14, None, lr_extend_max=3),
            # full: twice the epochs; 0.13 is met by Adam at epoch 9 and SGD at 16 of the runs above
            full=Budget(40, 256, 5, LR5, 0.13, None, lr_extend_max=3),
        ),
    )
)
