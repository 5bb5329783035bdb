"""The harness's layers import downward only, and nothing in src/ imports in a circle.

Imports are read from the source with ``ast`` — at module level and inside functions (a lazy
import is still a dependency) — and resolved to the module they name (``from pkg import name``
names the submodule ``pkg.name`` when there is one). Layers, bottom to top (ARCHITECTURE.md):
components and recipes; runs (runner, store, executors); statistics; plans and verdict rules;
claims (with their extras); the report, the pipeline and the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import boostprop

SRC = Path(boostprop.__file__).parent
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    # (layer, module prefixes); the longest matching prefix wins
    (1, ("boostprop",)),  # the techniques, data, models, utilities
    (1, ("boostprop.bench.components", "boostprop.bench.recipes")),
    (1, ("boostprop.bench.document", "boostprop.bench.environment")),
    (2, ("boostprop.bench.runner", "boostprop.bench.store", "boostprop.bench.executors")),
    (2, ("boostprop.bench.executors_ray", "boostprop.bench.executor_factory")),
    (3, ("boostprop.bench.stats",)),
    (4, ("boostprop.bench.presets", "boostprop.bench.plan", "boostprop.bench.sweep")),
    (4, ("boostprop.bench.summary", "boostprop.bench.verdicts", "boostprop.bench.workloads")),
    (4, ("boostprop.bench.plots",)),
    (5, ("boostprop.bench.extras", "boostprop.bench.claims")),
    (6, ("boostprop.bench", "boostprop.bench.report", "boostprop.bench.pipeline")),
    (6, ("boostprop.bench.estimate", "boostprop.cli")),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer(module: str) -> int:
    best, depth = 0, -1
    for n, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > depth:
                best, depth = n, len(p)
    return best


def imports(module: str) -> set[str]:
    path = MODULES[module]
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in MODULES else base)
    return {m for m in out if m in MODULES and m != module}


GRAPH = {m: imports(m) for m in MODULES}


def test_the_graph_is_read() -> None:
    assert "boostprop.bench.runner" in GRAPH["boostprop.bench.plan"]
    assert layer("boostprop.bench.claims.oland2017") == 5
    assert layer("boostprop.bench.recipes.shortcut") == 1
    assert layer("boostprop.losses.rooted") == 1


def test_bench_layers_import_downward_only() -> None:
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in GRAPH.items()
        for d in deps
        if layer(d) > layer(m) and not (m == "boostprop" or m == "boostprop.bench")
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle_anywhere_in_src() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle; a module importing its
    # package's __init__ that imports it back is one
    color: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        color[m] = 1
        for d in sorted(GRAPH[m]):
            if color.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in color:
                visit(d, [*stack, d])
        color[m] = 2

    for m in sorted(GRAPH):
        if m not in color:
            visit(m, [m])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)
