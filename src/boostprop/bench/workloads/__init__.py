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

import importlib
import pkgutil

from boostprop.bench.workloads._registry import (
    LR5,
    WORKLOADS,
    Budget,
    Workload,
    get_workload,
    register_workload,
)


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()

__all__ = ["LR5", "WORKLOADS", "Budget", "Workload", "get_workload", "register_workload"]
