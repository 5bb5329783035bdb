"""Docstring coverage of the package, checked from its source with :mod:`ast`.

Every module, and every public class, function and method, has a docstring (ARCHITECTURE.md:
"public functions have type hints and a docstring"). Public means the name does not start with
``_``; functions nested in functions, ``@overload`` stubs, property setters/deleters and
``__init__`` (documented by its class) are not counted. Definitions in private modules count
too: they are what the package re-exports. A missing docstring is reported as ``file:line name``.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import boostprop

SRC = Path(boostprop.__file__).resolve().parent

# Other engineers' files, still without docstrings (``path::qualified name``). Remove an entry
# when its docstring is written; an entry that has one fails `test_known_gaps_are_still_gaps`.
KNOWN_GAPS = frozenset(
    {
        "losses/expboost.py::ExpBoostLoss.extra_repr",
        "losses/expboost.py::CubicBoostLoss.extra_repr",
        "losses/focal.py::FocalLoss.extra_repr",
        "losses/rooted.py::RootedLogisticLoss.extra_repr",
        "losses/rooted.py::BinaryRootedLogisticLoss.extra_repr",
        "optim/_linear_ops.py::Neuron.groups",
        "optim/_linear_ops.py::EmbeddingNeuron.d_in",
        "optim/_linear_ops.py::EmbeddingNeuron.add_input",
        "optim/_linear_ops.py::EmbeddingNeuron.n_samples",
        "optim/_linear_ops.py::EmbeddingNeuron.moment_count",
        "optim/_linear_ops.py::EmbeddingNeuron.jvp",
        "optim/_linear_ops.py::EmbeddingNeuron.vjp_add_",
        "optim/_linear_ops.py::EmbeddingNeuron.vjp",
        "optim/_linear_ops.py::EmbeddingNeuron.product",
        "optim/_linear_ops.py::EmbeddingNeuron.gram_is_cheaper",
        "optim/_linear_ops.py::EmbeddingNeuron.drop_inputs",
        "optim/_linear_ops.py::TiedNeuron.has_inputs",
        "optim/_linear_ops.py::TiedNeuron.n_samples",
        "optim/_linear_ops.py::TiedNeuron.moment_count",
        "optim/_linear_ops.py::TiedNeuron.jacobi",
        "optim/_linear_ops.py::TiedNeuron.jvp",
        "optim/_linear_ops.py::TiedNeuron.vjp_add_",
        "optim/_linear_ops.py::TiedNeuron.vjp",
        "optim/_linear_ops.py::TiedNeuron.product",
        "optim/_linear_ops.py::TiedNeuron.gram_is_cheaper",
        "optim/_linear_ops.py::TiedNeuron.drop_inputs",
        "optim/_linear_ops.py::TiedNeuron.forget_done",
        "optim/_linear_ops.py::TiedNeuron.clear",
    }
)


@dataclass(frozen=True)
class Definition:
    """A module, class, function or method that must have a docstring."""

    path: str  # relative to the package folder, with "/"
    line: int
    name: str  # qualified within its module; "" for the module itself
    has_docstring: bool

    @property
    def id(self) -> str:
        return f"{self.path}::{self.name}"

    def __str__(self) -> str:
        return f"boostprop/{self.path}:{self.line} {self.name or '(module)'}"


Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _skipped(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in node.decorator_list:
        text = ast.unparse(d)
        if text in ("overload", "typing.overload") or text.endswith((".setter", ".deleter")):
            return True
    return False


def _walk(body: list[ast.stmt], prefix: str) -> Iterator[tuple[Scope, str]]:
    """Public classes and functions of a module or class body (with ``if``/``try`` blocks),
    and the methods of public classes; never what is nested in a function."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name.startswith("_"):
                continue
            if not isinstance(node, ast.ClassDef) and _skipped(node):
                continue
            yield node, prefix + node.name
            if isinstance(node, ast.ClassDef):
                yield from _walk(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.If):
            yield from _walk(node.body, prefix)
            yield from _walk(node.orelse, prefix)
        elif isinstance(node, ast.Try):
            yield from _walk(node.body, prefix)
            for handler in node.handlers:
                yield from _walk(handler.body, prefix)
            yield from _walk(node.orelse, prefix)


def definitions(source: str, path: str) -> list[Definition]:
    """Every definition of a module's ``source`` that needs a docstring, the module first."""
    tree = ast.parse(source)
    out = [Definition(path, 1, "", ast.get_docstring(tree) is not None)]
    out += [
        Definition(path, node.lineno, name, ast.get_docstring(node) is not None)
        for node, name in _walk(tree.body, "")
    ]
    return out


def package_definitions() -> list[Definition]:
    """Every definition of every module of the package."""
    out = []
    for file in sorted(SRC.rglob("*.py")):
        out += definitions(file.read_text(encoding="utf-8"), file.relative_to(SRC).as_posix())
    return out


def test_every_public_definition_has_a_docstring() -> None:
    defs = package_definitions()
    assert len(defs) > 300  # the walk found the package
    missing = [d for d in defs if not d.has_docstring and d.id not in KNOWN_GAPS]
    if missing:
        pytest.fail("missing docstrings:\n" + "\n".join(map(str, missing)), pytrace=False)


def test_known_gaps_are_still_gaps() -> None:
    """Each known gap names an existing definition that still lacks its docstring (so the list
    only shrinks, and a renamed definition is not silently exempt)."""
    by_id = {d.id: d for d in package_definitions()}
    unknown = sorted(g for g in KNOWN_GAPS if g not in by_id)
    assert not unknown, f"known gaps that are no definitions (renamed or removed?): {unknown}"
    documented = sorted(g for g in KNOWN_GAPS if by_id[g].has_docstring)
    assert not documented, f"documented now, remove from KNOWN_GAPS: {documented}"


def test_the_walk_counts_what_it_should() -> None:
    source = textwrap.dedent(
        '''
        """Module."""
        from typing import overload

        def documented():
            """Yes."""

        def undocumented():
            def nested():
                pass

        def _private():
            pass

        @overload
        def f(x: int) -> int: ...
        def f(x):
            """The implementation."""

        class A:
            def __init__(self):
                pass

            def method(self):
                pass

            @property
            def value(self):
                """The value."""

            @value.setter
            def value(self, v):
                pass

            class Inner:
                def deep(self):
                    pass

        class _Hidden:
            def method(self):
                pass

        if True:
            def conditional():
                pass
        '''
    )
    found = {d.name: d.has_docstring for d in definitions(source, "m.py")}
    assert found == {
        "": True,
        "documented": True,
        "undocumented": False,
        "f": True,
        "A": False,
        "A.method": False,
        "A.value": True,
        "A.Inner": False,
        "A.Inner.deep": False,
        "conditional": False,
    }
    assert str(definitions("def g():\n    pass\n", "sub/m.py")[1]) == "boostprop/sub/m.py:1 g"


def test_removing_a_docstring_is_reported(tmp_path: Path) -> None:
    """The check reads source, so a module of the package with one docstring removed (here a
    copy of ``bench/verdicts.py``) is reported at the right line."""
    path = SRC / "bench" / "verdicts.py"
    source = path.read_text(encoding="utf-8")
    before = {d.name for d in definitions(source, "bench/verdicts.py") if not d.has_docstring}
    assert before == set()
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "combine")
    doc = fn.body[0]
    lines = source.splitlines(keepends=True)
    stripped = "".join([*lines[: doc.lineno - 1], "    pass\n", *lines[doc.end_lineno or 0 :]])
    after = [d for d in definitions(stripped, "bench/verdicts.py") if not d.has_docstring]
    assert [str(d) for d in after] == [f"boostprop/bench/verdicts.py:{fn.lineno} combine"]
