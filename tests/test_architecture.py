"""The shape of the package, checked from its source: the layers import only downwards, no
modules import each other in a circle, and no file outgrows one concern (CONTRIBUTING.md)."""

import ast
from pathlib import Path

import pytest

import ganforge

SRC = Path(ganforge.__file__).resolve().parent

# Top to bottom; a module may import its own package and any package of a lower layer, never a
# higher one, nor another package of its own layer (training and inference stay independent).
LAYERS = [
    ["ganforge", "ganforge.cli"],  # entry points: the Python API and the command
    ["ganforge.app"],  # the browser explorer of trained runs
    ["ganforge.inference", "ganforge.training"],  # use a trained run; train one
    ["ganforge.runs"],  # run directories: config.json, checkpoints, the lock
    ["ganforge.configure"],  # the configuration pipeline: defaults -> resolve -> validate
    ["ganforge.methods"],  # GAN methods: their settings, networks and losses
    ["ganforge.metrics", "ganforge.models", "ganforge.losses"],
    ["ganforge.data", "ganforge.nn", "ganforge.viz"],
    ["ganforge.config", "ganforge.registry", "ganforge.files", "ganforge.devices",
     "ganforge.version", "ganforge.progress"],
    ["ganforge.errors"],
]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The ganforge modules an import statement (anywhere in the file, functions included)
    loads: for ``from a.b import c``, a.b.c when that is a module, else a.b."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("ganforge") and name != module:
            found.append(name)
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[module] = {target for node in ast.walk(tree)
                         if isinstance(node, (ast.Import, ast.ImportFrom))
                         for target in imported(module, node)}
    return graph


def package_of(module: str) -> str:
    """The layer package a module belongs to: the longest entry of LAYERS it is in."""
    entries = [p for layer in LAYERS for p in layer if module == p or module.startswith(p + ".")]
    return max(entries, key=len)


def layer_of(module: str) -> int:
    package = package_of(module)
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "ganforge.methods.base" in graph["ganforge.methods.gan"]  # at the top of the file
    assert "ganforge.training" in graph["ganforge"]  # inside ganforge.train()
    assert "ganforge.training.evaluation" in graph["ganforge.training.trainer"]  # in __init__


def test_no_module_imports_in_a_circle():
    assert cycles(import_graph()) == []


def test_a_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_has_a_layer():
    for module in MODULES:
        assert layer_of(module) >= 0


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    upward = []
    for target in sorted(import_graph()[module]):
        same_package = package_of(target) == package_of(module)
        if not same_package and layer_of(target) <= layer_of(module):
            upward.append(target)
    assert upward == [], f"{module} imports {upward}, which are not below it (see LAYERS)"


def test_metrics_never_load_runs_or_train():
    graph = import_graph()
    for module in (m for m in graph if m.startswith("ganforge.metrics")):
        assert not {t for t in graph[module]
                    if t.startswith(("ganforge.inference", "ganforge.training"))}, module


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: module_name(p))
def test_no_source_file_is_over_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines; split it"
