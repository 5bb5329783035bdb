"""What a run is judged by: each task's validation metric, its direction and its units.

A data set declares its ``task`` (:data:`boostprop.data.TASKS`); the runner scores every run of
it with that task's metric (:func:`task_metric`), and every reader of records — tuning, summaries,
verdict helpers, the report — reads the metric through the helpers here, so a lower-is-better
metric is never ranked as if it were an accuracy:

============== ================== ================ =============================================
task           metric             better           computed on the validation / test split as
============== ================== ================ =============================================
classification ``accuracy``       higher           fraction of samples with argmax = label
segmentation   ``pixel_accuracy`` higher           fraction of all pixels with argmax = label
language_model ``bits_per_char``  lower            mean next-token cross-entropy (nats) / ln 2
regression     ``rmse``           lower            sqrt(mean((prediction − y)²))
============== ================== ================ =============================================

A comparison may judge its runs by another metric of the task instead (:func:`run_metric`,
:data:`ALTERNATIVE_METRICS`): a language model's ``next_char_accuracy`` (higher is better), the
fraction of all positions whose argmax is the next byte — what the losses other than softmax
cross-entropy are compared by on a language model.

Records written before the metric was recorded (training-code version ≤ 2) and records without a
``metric`` field are classification records: their metric is their accuracy.

Example:
    >>> m = task_metric("language_model")
    >>> m.name, m.higher_is_better, m.meets(1.9, 2.0), m.meets(2.1, 2.0)
    ('bits_per_char', False, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """A validation metric: its record ``name``, its direction, and how it is shown.

    ``fraction``: the value is a fraction in [0, 1] (shown as a percentage; a target must lie in
    (0, 1]); otherwise the value is positive in ``unit`` (a target must be a positive number).

    Example:
        >>> m = METRICS["rmse"]
        >>> m.better(0.2, 0.3), m.show(0.25), METRICS["accuracy"].show(0.9123)
        (True, '0.250', '91.23%')
    """

    name: str
    higher_is_better: bool
    label: str
    unit: str = ""
    fraction: bool = False

    def to_dict(self) -> dict[str, Any]:
        """What a record holds: ``{"name": ..., "higher_is_better": ...}``."""
        return {"name": self.name, "higher_is_better": self.higher_is_better}

    def meets(self, value: float, target: float) -> bool:
        """Whether ``value`` reaches ``target`` in this metric's direction (NaN never does)."""
        if not math.isfinite(value):
            return False
        return value >= target if self.higher_is_better else value <= target

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b

    def rank_key(self, value: float | None) -> float:
        """A sort key, smaller for better values; a missing value (``None``) or NaN ranks last."""
        if value is None or not math.isfinite(value):
            return math.inf
        return -value if self.higher_is_better else value

    def improvement(self, candidate: float, baseline: float) -> float:
        """How much better ``candidate`` is than ``baseline``, in the metric's display units
        (points for a fraction, the unit otherwise): positive when the candidate is better.

        Example:
            >>> round(METRICS["accuracy"].improvement(0.92, 0.90), 6)
            2.0
            >>> round(METRICS["bits_per_char"].improvement(2.0, 2.5), 6)
            0.5
        """
        sign = 1.0 if self.higher_is_better else -1.0
        return sign * (candidate - baseline) * self.scale

    @property
    def scale(self) -> float:
        """The factor from a recorded value to its display units (100 for a fraction)."""
        return 100.0 if self.fraction else 1.0

    @property
    def units(self) -> str:
        """Display units: ``"%"``, ``"bits/char"`` or ``""``; differences of a fraction are
        ``"pts"`` (:attr:`delta_units`)."""
        return "%" if self.fraction else self.unit

    @property
    def delta_units(self) -> str:
        """Units of a difference: percentage points for a fraction, the unit otherwise."""
        return "pts" if self.fraction else self.unit

    @property
    def axis_label(self) -> str:
        """A plot axis label, e.g. ``"validation accuracy (%)"``, ``"validation bits/char"``."""
        suffix = " (%)" if self.fraction else ""
        return f"validation {self.label}{suffix}"

    def show(self, value: float, digits: int = 2) -> str:
        """``value`` in display units: ``"91.23%"``, ``"2.345 bits/char"``, ``"0.250"``."""
        if self.fraction:
            return f"{100 * value:.{digits}f}%"
        text = f"{value:.{digits + 1}f}"
        return f"{text} {self.unit}" if self.unit else text

    def check_target(self, target: float, what: str = "target") -> float:
        """``target`` as a float, or a clear error when it is not a value of this metric."""
        ok = isinstance(target, (int, float)) and not isinstance(target, bool)
        value = float(target) if ok else math.nan
        if self.fraction and not (ok and 0 < value <= 1):
            raise ValueError(
                f"{what}: expected a validation {self.label} in (0, 1], got {target!r}"
            )
        if not self.fraction and not (ok and math.isfinite(value) and value > 0):
            raise ValueError(
                f"{what}: expected a positive validation {self.label} "
                f"({'lower' if not self.higher_is_better else 'higher'} is better), got {target!r}"
            )
        return value

    def describe_target(self, target: float) -> str:
        """``"validation accuracy ≥ 80.0%"``, ``"validation bits/char ≤ 2.5"``.

        Example:
            >>> METRICS["rmse"].describe_target(0.25)
            'validation RMSE ≤ 0.25'
        """
        op = "≥" if self.higher_is_better else "≤"
        shown = f"{100 * target:.1f}%" if self.fraction else f"{target:.4g}"
        return f"validation {self.label} {op} {shown}"


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", True, "accuracy", fraction=True),
    "pixel_accuracy": Metric("pixel_accuracy", True, "pixel accuracy", fraction=True),
    "bits_per_char": Metric("bits_per_char", False, "bits/char", unit="bits/char"),
    "rmse": Metric("rmse", False, "RMSE"),
    "next_char_accuracy": Metric(
        "next_char_accuracy", True, "next-character accuracy", fraction=True
    ),
}
#: task -> the name of the metric its runs are judged by
TASK_METRICS: dict[str, str] = {
    "classification": "accuracy",
    "segmentation": "pixel_accuracy",
    "language_model": "bits_per_char",
    "regression": "rmse",
}
#: task -> the other metrics a comparison may judge its runs by (:func:`run_metric`): a
#: language model's next-character accuracy, the fraction of positions whose argmax is the next
#: byte, is what a loss other than softmax cross-entropy is judged by on a language model (its
#: logits are not trained to be log-probabilities, so bits/char under their softmax would judge
#: a calibration the loss never asked for)
ALTERNATIVE_METRICS: dict[str, tuple[str, ...]] = {"language_model": ("next_char_accuracy",)}
#: tasks whose targets are class indices, so that accuracy is recorded too (``val_acc``)
ACCURACY_TASKS = ("classification", "segmentation", "language_model")
ACCURACY = METRICS["accuracy"]


def task_metric(task: str) -> Metric:
    """The metric runs of ``task`` are judged by.

    Example:
        >>> task_metric("regression").name
        'rmse'
    """
    try:
        return METRICS[TASK_METRICS[task]]
    except KeyError:
        raise ValueError(f"task: expected one of {sorted(TASK_METRICS)}, got {task!r}") from None


def run_metric(task: str, name: str | None = None) -> Metric:
    """The metric a run of ``task`` is judged by: the task's own (``name`` None, or the task's
    metric's name), or one of :data:`ALTERNATIVE_METRICS` for the task (a clear error for any
    other).

    Example:
        >>> run_metric("language_model").name, run_metric("language_model", "next_char_accuracy").label
        ('bits_per_char', 'next-character accuracy')
        >>> run_metric("classification", "rmse")
        Traceback (most recent call last):
        ...
        ValueError: metric_name: expected None or one of ['accuracy'] for the task 'classification', got 'rmse'
    """
    own = task_metric(task)
    if name is None or name == own.name:
        return own
    allowed = [own.name, *ALTERNATIVE_METRICS.get(task, ())]
    if name not in allowed:
        raise ValueError(
            f"metric_name: expected None or one of {allowed} for the task {task!r}, got {name!r}"
        )
    return METRICS[name]


def metric_of(record: Mapping[str, Any]) -> Metric:
    """The metric a run record was judged by: its ``metric`` field, or accuracy for a record
    without one (a classification record of training-code version ≤ 2, or a hand-made one).

    Example:
        >>> metric_of({"metric": {"name": "rmse", "higher_is_better": False}}).name
        'rmse'
        >>> metric_of({"final_val_acc": 0.9}).name
        'accuracy'
    """
    entry = record.get("metric")
    if entry is None:
        return ACCURACY
    name = entry.get("name") if isinstance(entry, Mapping) else entry
    if name not in METRICS:
        raise ValueError(f"metric: a record names an unknown metric {name!r}")
    return METRICS[name]


def _recorded(record: Mapping[str, Any], name: str, accuracy_name: str) -> float | None:
    """``record[name]``, or for an accuracy record written without it ``record[accuracy_name]``
    (older records), as a float; ``None`` when absent or null."""
    if name in record:
        value = record[name]
    else:
        value = record.get(accuracy_name) if metric_of(record).fraction else None
    return None if value is None else float(value)


def final_val_metric(record: Mapping[str, Any]) -> float | None:
    """The record's final validation metric (``final_val_metric``; ``final_val_acc`` for an
    accuracy record written without it), ``None`` for a failed run.

    Example:
        >>> final_val_metric({"status": "ok", "final_val_acc": 0.9})
        0.9
    """
    return _recorded(record, "final_val_metric", "final_val_acc")


def test_metric(record: Mapping[str, Any]) -> float | None:
    """The record's test metric (``test_metric``; ``test_acc`` for an accuracy record written
    without it), ``None`` when there is none (a tuning run, a failed run).

    Example:
        >>> test_metric({"metric": {"name": "rmse"}, "test_metric": 0.3})
        0.3
    """
    return _recorded(record, "test_metric", "test_acc")


test_metric.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def val_metric_history(record: Mapping[str, Any]) -> list[float]:
    """The per-epoch validation metric (``history["val_metric"]``, or ``val_acc`` for an
    accuracy record written without it).

    Example:
        >>> val_metric_history({"history": {"val_acc": [0.5, 0.7]}})
        [0.5, 0.7]
    """
    history = record.get("history") or {}
    if "val_metric" in history:
        return list(history["val_metric"])
    return list(history.get("val_acc") or []) if metric_of(record).fraction else []


def first_meeting(values: Sequence[float], target: float, metric: Metric) -> int | None:
    """The first epoch (counting from 1) whose value meets ``target`` in ``metric``'s
    direction, ``None`` when none does.

    Example:
        >>> first_meeting([3.0, 2.4, 2.6], 2.5, METRICS["bits_per_char"])
        2
        >>> first_meeting([0.5, 0.7], 0.8, ACCURACY) is None
        True
    """
    return next((i + 1 for i, v in enumerate(values) if metric.meets(v, target)), None)
