"""A segmentation U-Net (Ronneberger et al. 2015) on ``fashion_segmentation`` (issue 14): every
pixel of a Fashion-MNIST image is background (intensity ≤ 0.1) or its garment's class + 1, 11
classes (:mod:`boostprop.data.segmentation`). The metric is pixel accuracy on the validation
images. It serves Øland's segmentation claim and Munoz's U-Net.

The workload's own model is the zoo's default U-Net (width 16, two levels, BatchNorm; 130,043
parameters), trained at the ``full`` preset; ``standard`` trains width 8 on a subset.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> from boostprop.bench.workloads import get_workload
    >>> get_workload("fashion_unet").budgets[Preset.STANDARD].model_kwargs["width"]
    8
"""

from __future__ import annotations

from boostprop.bench.presets import PresetTable
from boostprop.bench.workloads._registry import LR5, Budget, Workload, register_workload

# U-Net width 8, two levels, BatchNorm (32,771 parameters). Measured (seed 0, one thread; the
# runner's conventions, a plain loop): 1,000 training images × 4 epochs at batch 32 = 128 steps
# take 8.9–9.0 CPU s with Adam or SGD (0.07 s/step), NeuronBoost (lr 0.1) 18.7 s (2.1×); 4
# validations of 1,000 images cost 3.9 CPU s, so standard validates on 500 (≈ 2 s). Munoz's
# R = 4 recipes, 12 runs each: 12 × (2 × 21 s + 2 × 11 s) ≈ 13 CPU minutes.
# Target 0.62 (pixel accuracy; 54.8% of pixels are background), where the tuned baselines get in
# about half the 4 epochs (validation 1,000 images): Adam lr 3e-3: 0.596 0.648 0.657 0.656 (1e-3:
# 0.560 0.616 0.620 0.649); SGD+momentum lr 0.05: 0.583 0.609 0.637 0.688 (0.15: 0.601 0.608
# 0.632 0.668), i.e. Adam at epoch 2, SGD at epoch 3.
UNET_STANDARD = {"width": 8, "levels": 2, "batch_norm": True}
register_workload(
    Workload(
        name="fashion_unet",
        dataset="fashion_segmentation",
        model="unet",
        title="fashion_segmentation U-Net (pixel accuracy)",
        model_kwargs={"width": 16, "levels": 2, "batch_norm": True},
        budgets=PresetTable(
            smoke=Budget(1, 16, 2, (1.0,), 0.3, 32, 32, model_kwargs={"width": 2, "levels": 1}),
            # quick: no claim runs it in its quick preset; target unmeasured
            quick=Budget(3, 32, 3, LR5, 0.60, 500, 500, model_kwargs=UNET_STANDARD),
            standard=Budget(
                4, 32, 5, LR5, 0.62, 1000, 500, lr_extend_max=2, model_kwargs=UNET_STANDARD
            ),
            # full: the width-16 U-Net on all 54,000 images, 1,688 steps/epoch at batch 32: for a
            # cluster; target not measured here (provisional)
            full=Budget(10, 32, 5, LR5, 0.90, None, lr_extend_max=3),
        ),
    )
)
