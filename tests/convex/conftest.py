"""Shared test settings for boostprop.convex (Ergen et al., ICLR 2023, arXiv:2303.03382)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """These tests use tiny tensors: one intra-op thread avoids OpenMP contention on shared CPUs."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
