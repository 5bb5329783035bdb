"""Choosing an executor by name (the CLI's ``--executor``): the local pool or Ray.

Kept apart from :mod:`.executors` and :mod:`.executors_ray` so that neither imports the other.

Example:
    >>> make_executor("local", jobs=2).jobs
    2
"""

from __future__ import annotations

from boostprop.bench.executors import Executor, LocalExecutor

EXECUTOR_KINDS = ("local", "ray")  # what make_executor (and the CLI's --executor) accepts


def make_executor(kind: str, jobs: int = 1, address: str | None = None) -> Executor:
    """The executor the CLI asks for: ``"local"`` (a :class:`LocalExecutor` of ``jobs``
    processes) or ``"ray"`` (a :class:`~boostprop.bench.executors_ray.RayExecutor` connecting
    to ``address``; needs ``pip install 'boostprop[ray]'``).

    Example:
        >>> make_executor("local", jobs=2).jobs
        2
    """
    if kind == "local":
        if address is not None:
            raise ValueError(
                f"address: only the Ray executor connects to a cluster, got {address!r} "
                "with kind='local'"
            )
        return LocalExecutor(jobs)
    if kind == "ray":
        if jobs != 1:
            raise ValueError(
                f"jobs: the Ray executor runs as many runs at once as the cluster has CPUs "
                f"(jobs applies to kind='local' only), got jobs={jobs!r} with kind='ray'"
            )
        from boostprop.bench.executors_ray import RayExecutor  # Ray is an optional extra

        return RayExecutor(address)
    raise ValueError(f"kind: expected one of {EXECUTOR_KINDS}, got {kind!r}")
