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

# Budgets provisional until measured (issue 14): the first measurement, width 8, 1,000 images,
# batch 32, 4 epochs: pixel accuracy 0.65 (Adam 1e-3) / 0.69 (SGD+momentum 0.05) at epoch 4.
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
            quick=Budget(3, 32, 3, LR5, 0.60, 500, 500, model_kwargs=UNET_STANDARD),
            standard=Budget(
                4, 32, 5, LR5, 0.62, 1000, 500, lr_extend_max=2, model_kwargs=UNET_STANDARD
            ),
            # full: 54,000 images, 1,688 steps/epoch at batch 32 of the width-16 U-Net: a cluster
            full=Budget(10, 32, 5, LR5, 0.90, None, lr_extend_max=3),
        ),
    )
)
