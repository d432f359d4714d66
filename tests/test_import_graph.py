"""The import graph of lnfusion: no cycles, and every import points down the layers.

The graph is read from the source (``ast``), not from ``sys.modules``, so an
import inside a function (a lazy import) counts as an edge like any other, and
so does a module named in a lazy-export table (``"lnfusion.models.tabular"``)
or passed to :func:`importlib.import_module`.  Imports under
``if TYPE_CHECKING:`` are not edges: they never run.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import lnfusion

ROOT = Path(lnfusion.__file__).parent

#: Layers from the bottom up.  A module may import modules of its own layer or of
#: any layer below, never above.  ``stats`` sits directly on the foundation and
#: imports nothing else from lnfusion, so it can be used (and tested) on its own.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"_version", "exceptions", "config", "io", "lazy", "formatting", "progress"}),
    ("stats", {"stats"}),
    ("data", {"data"}),
    ("datasets", {"datasets"}),
    ("models", {"models"}),
    ("fusion", {"fusion"}),
    ("outputs", {"evaluation", "explain", "plotting", "report"}),
    ("apps", {"cli", "serve"}),
    ("facade", {""}),  # lnfusion/__init__.py: lazy names from every subpackage
]

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (its ``else`` branch still runs)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _target(name: str) -> str | None:
    """The lnfusion module that importing ``name`` loads (a name inside a module: that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """lnfusion modules imported by ``module`` at run time (eagerly or lazily)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(filter(None, (_target(a.name) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source == "lnfusion" or source.startswith("lnfusion."):
                for alias in node.names:
                    found.add(_target(f"{source}.{alias.name}") or source)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value \
                and node.value in MODULES:
            found.add(node.value)  # lazy-export tables, importlib.import_module("...")
    found.discard(module)
    return found


GRAPH: dict[str, set[str]] = {m: imports_of(m) for m in MODULES}


def layer_of(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    for rank, (_, names) in enumerate(LAYERS):
        if part in names:
            return rank
    raise AssertionError(f"{module} is in no layer; add its subpackage to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_parser_sees_eager_lazy_and_relative_imports():
    # eager absolute, function-level (lazy), relative, and lazy-table edges
    assert "lnfusion.exceptions" in GRAPH["lnfusion.data.cohort"]
    assert "lnfusion.stats.adjust" in GRAPH["lnfusion.stats"]
    assert "lnfusion.models.image_branch" in GRAPH["lnfusion.models"]
    assert "lnfusion.explain.bundle" in GRAPH["lnfusion.explain"]
    assert "lnfusion.data.labels" in GRAPH["lnfusion.fusion.late"]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_import_points_up_the_layers():
    upward = sorted(f"{src} -> {dst} ({LAYERS[layer_of(src)][0]} imports {LAYERS[layer_of(dst)][0]})"
                    for src, dsts in GRAPH.items() for dst in dsts if layer_of(dst) > layer_of(src))
    assert upward == []


def test_stats_imports_only_the_foundation():
    outside = sorted(f"{src} -> {dst}" for src, dsts in GRAPH.items() if src.startswith("lnfusion.stats")
                     for dst in dsts if not dst.startswith("lnfusion.stats") and layer_of(dst) != 0)
    assert outside == []


def test_no_import_cycle_between_modules():
    assert _cycles(GRAPH) == []


def test_manifest_parsing_does_not_know_the_cohort():
    # cohort.py builds on manifest.py; the parsed record lives below the Cohort
    assert "lnfusion.data.manifest" in GRAPH["lnfusion.data.cohort"]
    assert "lnfusion.data.cohort" not in GRAPH["lnfusion.data.manifest"]


def test_no_import_cycle_between_subpackages():
    def package(module: str) -> str:
        return module.split(".")[1] if "." in module else module

    graph: dict[str, set[str]] = {}
    for src, dsts in GRAPH.items():
        graph.setdefault(package(src), set()).update(package(d) for d in dsts if package(d) != package(src))
    assert _cycles(graph) == []
