"""Workloads: a data set and a model with a budget per preset, shared by every claim.

A workload is what a practitioner would call a benchmark task — "an MLP on Fashion-MNIST" —
with its budget under each preset (:class:`Budget`). The registry lives in :mod:`._registry`;
every other module of this package registers its workloads and is imported here by folder
discovery, so adding a workload means adding one file.

Example:
    >>> from boostprop.bench.presets import Preset
    >>> get_workload("mnist1d_mlp").budgets[Preset.QUICK].epochs
    20
"""

from __future__ import annotations

from boostprop.bench.components import discover_modules
from boostprop.bench.workloads._registry import (
    LR5,
    WORKLOADS,
    Budget,
    Workload,
    get_workload,
    register_workload,
)

discover_modules(__name__, __path__)

__all__ = ["LR5", "WORKLOADS", "Budget", "Workload", "get_workload", "register_workload"]
