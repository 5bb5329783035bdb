"""Resolving a component's arguments: every keyword after the defaults are applied, as JSON.

A run's identity is the content of what it trains (see :mod:`boostprop.bench.runner`), so every
component of a recipe — loss, optimizer, model, training hook — is written down with *all* its
keyword arguments, defaults included, at the moment the plan is made. A later change of a
default then changes the key of every run it affects and of no other, and a results folder
keeps describing exactly what it trained.

A factory declares its arguments in its own signature. A thin adapter whose signature is
``**kwargs`` names the callable whose signature it forwards to as ``factory.defaults_from``
(see :func:`forwards_to`); one whose defaults depend on the input shape (the ``cnn`` model)
sets ``factory.defaults_for(input_shape)`` instead.

Example:
    >>> def f(x, *, a=1, b=(2, 3)): ...
    >>> resolve_kwargs(f, {"a": 5}, skip=1, what="loss_kwargs")
    {'a': 5, 'b': [2, 3]}
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def forwards_to(target: Callable[..., Any], skip: int = 0) -> Callable[[F], F]:
    """Mark an adapter ``factory(*fixed, **kwargs)`` as forwarding its keywords to ``target``,
    whose signature (after its first ``skip`` positional parameters) gives the defaults.

    Example:
        >>> @forwards_to(sorted, skip=1)
        ... def ascending(xs, **kw): return sorted(xs, **kw)
        >>> resolve_kwargs(ascending, {}, skip=1, what="kwargs")
        {'key': None, 'reverse': False}
    """

    def mark(factory: F) -> F:
        factory.defaults_from = (target, skip)  # type: ignore[attr-defined]
        return factory

    return mark


def jsonable(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (tuples become lists); a clear error for anything else."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what}: expected a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, what) for v in value]
    raise ValueError(
        f"{what}: expected JSON-like values (numbers, strings, lists, dicts), got "
        f"{type(value).__name__} {value!r}; a run's specification must be plain data"
    )


def _signature_defaults(fn: Callable[..., Any], skip: int) -> tuple[dict[str, Any], set[str], bool]:
    """(defaults, accepted names, accepts **kwargs) of ``fn`` after ``skip`` positionals."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature
        return {}, set(), True
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skipped = {p.name for p in positional[:skip]}
    defaults, names, var_kw = {}, set(), False
    for p in params:
        if p.name in skipped or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
            continue
        names.add(p.name)
        if p.default is not p.empty:
            defaults[p.name] = p.default
    return defaults, names, var_kw


def resolve_kwargs(
    fn: Callable[..., Any],
    given: Mapping[str, Any],
    *,
    skip: int,
    what: str,
    input_shape: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Every keyword argument ``fn`` will be called with: ``given`` over ``fn``'s defaults
    (followed through :func:`forwards_to` adapters), as JSON data with sorted keys. A keyword
    ``fn`` does not take is a clear error naming ``what``."""
    defaults: dict[str, Any] = {}
    names: set[str] = set()
    target, target_skip = fn, skip
    open_ended = False
    while True:
        d, n, var_kw = _signature_defaults(target, target_skip)
        defaults = {**d, **defaults}
        names |= n
        nxt = getattr(target, "defaults_from", None)
        shape_fn = getattr(target, "defaults_for", None)
        if shape_fn is not None and input_shape is not None:
            nxt = shape_fn(tuple(input_shape))
        if not var_kw:
            break
        if nxt is None:
            open_ended = True  # takes **kwargs and says nothing more: accept what is given
            break
        target, target_skip = nxt
    unknown = sorted(set(given) - names)
    if unknown and not open_ended:
        raise ValueError(
            f"{what}: {unknown} not accepted by {getattr(fn, '__name__', fn)!r}; expected some "
            f"of {sorted(names)}"
        )
    merged = {**defaults, **given}
    for k, v in given.items():  # 0 given where the default is 0.0 trains the same: one key
        if isinstance(defaults.get(k), float) and isinstance(v, int) and not isinstance(v, bool):
            merged[k] = float(v)
    return {k: jsonable(merged[k], f"{what}.{k}") for k in sorted(merged)}


def discover_modules(package: str, path: Sequence[str]) -> None:
    """Import every public module of ``package`` (whose ``__path__`` is ``path``), in name
    order: how a registry package finds its entries, one file each, with no list to edit.

    Example:
        >>> import boostprop.bench.workloads as w
        >>> discover_modules(w.__name__, w.__path__)  # already imported: a no-op
    """
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def import_object(path: str, what: str) -> Any:
    """The object named by ``"package.module:attribute"`` (a user's model or data function).

    Example:
        >>> import_object("math:sqrt", "model")(4.0)
        2.0
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{what}: expected 'package.module:function', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"{what}: cannot import module {module_name!r} ({exc}); it must be importable by "
            "name in every worker process (put its folder on PYTHONPATH or install it)"
        ) from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{what}: module {module_name!r} has no {attr!r}") from None
    return obj


def source_digest(path: str) -> str:
    """A short hash of the source of the module that defines ``"module:attribute"``, so that
    editing a user's model or data code changes the keys of the runs that use it."""
    module_name = path.partition(":")[0]
    module = importlib.import_module(module_name)
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = module_name  # no source available (a compiled module): its name only
    return hashlib.sha256(source.encode()).hexdigest()[:16]
