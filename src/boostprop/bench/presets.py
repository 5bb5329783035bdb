"""Presets: how big an experiment is, as typed values, and tables of sizes per preset.

``SMOKE`` is for the test suite (seconds), ``QUICK`` for ``make reproduce`` (minutes on two
cores), ``STANDARD`` for the published verdicts (the papers' workload classes, at least five seeds,
about two hours on two cores), ``FULL`` for the larger experiments (hours; the one to spread over
a Ray cluster). A
claim or workload that differs between presets says so in a :class:`PresetTable`, which must
name a value for every preset; nothing compares preset names as strings.

Example:
    >>> Preset.parse("quick") is Preset.QUICK
    True
    >>> PresetTable(smoke=1, quick=2, standard=3, full=4)[Preset.FULL]
    4
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class Preset(enum.Enum):
    """The size of an experiment."""

    SMOKE = "smoke"
    QUICK = "quick"
    STANDARD = "standard"
    FULL = "full"

    @classmethod
    def parse(cls, value: str | Preset) -> Preset:
        """The preset named ``value`` (a clear error naming the known ones otherwise).

        Example:
            >>> Preset.parse(Preset.SMOKE).value
            'smoke'
        """
        if isinstance(value, Preset):
            return value
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"preset: expected one of {[p.value for p in cls]}, got {value!r}"
            ) from None

    @property
    def description(self) -> str:
        """What the preset is for, in the words a report uses."""
        return {
            Preset.SMOKE: "a smoke test of the harness (seconds; far too small for any verdict)",
            Preset.QUICK: "a quick look (minutes on two cores; small subsets, few seeds)",
            Preset.STANDARD: (
                "the papers' workload classes with at least 5 seeds, sized to finish in about two "
                "hours on two cores (--jobs 2)"
            ),
            Preset.FULL: "the full experiments (hours; the papers' sizes where they fit)",
        }[self]


@dataclass(frozen=True)
class PresetTable(Generic[T]):
    """One value per preset, all required.

    Example:
        >>> PresetTable(smoke=(1,), quick=(1, 2), standard=(1, 2, 3), full=(1, 2, 3, 4))[
        ...     Preset.QUICK
        ... ]
        (1, 2)
    """

    smoke: T
    quick: T
    standard: T
    full: T

    def __getitem__(self, preset: Preset) -> T:
        value: T = getattr(self, Preset.parse(preset).value)
        return value

    @classmethod
    def same(cls, value: T) -> PresetTable[T]:
        """The same value for every preset.

        Example:
            >>> PresetTable.same(5).full
            5
        """
        return cls(value, value, value, value)
