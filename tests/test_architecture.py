"""The layers of docs/architecture.rst, read from the code: every import, inside functions too."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spectral_ml"

#: The layers of docs/architecture.rst, bottom up; within a layer, the order of the modules.
LAYERS = [
    ["_backend", "_validation", "_dask"],
    ["linalg", "testing"],
    ["dpp", "evaluation", "metric"],
    ["nn", "torch"],
    ["datasets", "plotting", "_rundir", "experiments", "_cli_data", "_demo", "cli"],
]
#: Modules above every layer: the package's entry points, which may import anything.
ENTRY_POINTS = {"__init__", "__main__"}


def _modules():
    """Dotted module name -> path, for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The package modules an ``import from`` names (relative imports resolved)."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    names = [f"{target}.{alias.name}" for alias in node.names]
    return [n if n in MODULES else target for n in names]


def imports_of(module: str) -> set[str]:
    """Every spectral_ml module ``module`` imports, at the top or inside functions."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "spectral_ml"}
        elif isinstance(node, ast.ImportFrom):
            found |= {t for t in _resolve(module, path.name == "__init__.py", node) if t.startswith("spectral_ml")}
    return {t for t in found if t in MODULES and t != module}


GRAPH = {m: imports_of(m) for m in MODULES}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank(module: str):
    """(layer, position in the layer) of a module's top-level component."""
    top = _top(module)
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i, layer.index(top)
    return None


def test_every_module_has_a_layer():
    missing = sorted({_top(m) for m in MODULES} - {t for layer in LAYERS for t in layer} - ENTRY_POINTS)
    assert not missing, f"modules in no layer of docs/architecture.rst: {missing}"


def test_the_layer_table_is_the_one_of_the_architecture_page():
    page = (ROOT / "docs" / "architecture.rst").read_text(encoding="utf-8")
    table = page.split("The layers", 1)[1].split("Who owns what", 1)[0]
    rows = re.findall(r"\* - [A-Z][^\n]*\n\s+- ([^\n]+(?:\n\s{7}[^\n*]+)*)", table)
    named = [re.findall(r"(?:``|~spectral_ml\.)(_?[a-z_]+)", row) for row in rows]
    assert named == LAYERS


def _cycles():
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
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
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_even_through_imports_inside_functions():
    # A package's __init__ re-exports its modules, which import siblings through it: count
    # an import of a package as one of the package itself, not of its __init__'s targets.
    assert _cycles() == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _top(m) not in ENTRY_POINTS))
def test_imports_go_down_the_layers(module):
    here = _rank(module)
    wrong = []
    for target in sorted(GRAPH[module]):
        if _top(target) == _top(module) or _top(target) in ENTRY_POINTS:
            continue
        there = _rank(target)
        if there is None or there > here:
            wrong.append(target)
    assert not wrong, f"{module} imports {wrong}, which docs/architecture.rst puts above it"


def test_no_private_name_is_imported_from_another_module():
    crossings = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for target, alias in zip(
                    _resolve(module, MODULES[module].name == "__init__.py", node), node.names, strict=True
                ):
                    if (
                        alias.name.startswith("_")
                        and not alias.name.startswith("__")
                        and target.startswith("spectral_ml")
                    ):
                        crossings.append(f"{module}: {alias.name} from {target}")
    assert not crossings, "\n".join(crossings)
