"""The architecture contract: the package's layers import only downwards, and no module cycles.

The layers are declared once, in ``pyproject.toml`` (``[tool.importlinter]``); these tests read them
from there, build the import graph with grimp (the graph import-linter uses, which includes imports
placed inside functions) and check the contract. A deliberately upward import in a copy of the
package must make the check fail, so the check can fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return contract["layers"]


def layer_of(module: str, order: list[str]) -> int | None:
    for i, layer in enumerate(order):
        if module == layer or module.startswith(layer + "."):
            return i
    return None


def upward_imports(package_dir: Path) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a module imports a layer above its own."""
    sys.path.insert(0, str(package_dir.parent))
    try:
        graph = grimp.build_graph("forecast", cache_dir=None)
    finally:
        sys.path.remove(str(package_dir.parent))
    order = layers()
    bad = []
    for importer in graph.modules:
        li = layer_of(importer, order)
        if li is None:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            lj = layer_of(imported, order)
            if lj is not None and lj < li:  # layers are listed top first
                bad.append((importer, imported))
    return sorted(bad)


def strongly_connected(graph) -> list[set[str]]:
    """Tarjan's algorithm over the module graph: the import cycles (components of 2+ modules)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10_000)
    for v in sorted(graph.modules):
        if v not in index:
            visit(v)
    return out


def test_every_module_belongs_to_a_layer():
    graph = grimp.build_graph("forecast", cache_dir=None)
    order = layers()
    loose = sorted(m for m in graph.modules if m != "forecast" and layer_of(m, order) is None)
    assert loose == [], f"modules outside every declared layer: {loose}"


def test_no_upward_import():
    assert upward_imports(ROOT / "forecast") == []


def test_no_import_cycle():
    graph = grimp.build_graph("forecast", cache_dir=None)
    assert strongly_connected(graph) == []


def test_nothing_imports_the_cli():
    graph = grimp.build_graph("forecast", cache_dir=None)
    assert graph.find_modules_that_directly_import("forecast.cli") == set()


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: a copy of the package with one upward import inside a function."""
    copy = tmp_path / "forecast"
    shutil.copytree(ROOT / "forecast", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "inputs" / "spec.py"
    target.write_text(target.read_text() + "\n\ndef _sneaky():\n    from forecast.runs import ledger  # upward\n    return ledger\n")
    # run in a fresh interpreter so the installed package does not shadow the copy
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import grimp; "
        "g = grimp.build_graph('forecast', cache_dir=None); "
        "print(sorted(g.find_modules_directly_imported_by('forecast.inputs.spec')))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert "forecast.runs.ledger" in out
    order = layers()
    assert layer_of("forecast.runs.ledger", order) < layer_of("forecast.inputs.spec", order)


def test_import_linter_passes():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("lint-imports is not installed in this environment")
    run = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
