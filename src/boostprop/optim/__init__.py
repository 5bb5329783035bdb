"""Optimizers: :class:`NeuronBoost`, linear neuron boosting (Munoz 2025, arXiv:2502.01131)."""

from __future__ import annotations

from .neuron_boost import NeuronBoost, decay_groups

__all__ = ["NeuronBoost", "decay_groups"]
