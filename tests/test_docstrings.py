"""Every public module, class, function and method of the package has a docstring.

Public: a name without a leading underscore, inside a public class. The check reads the source
with :mod:`ast`, so it sees what ``help()`` shows without importing anything.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "forecast"


def undocumented(package: Path) -> list[str]:
    """``file:line name`` of every public definition under ``package`` without a docstring."""
    missing = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(package.parent)
        if not ast.get_docstring(tree):
            missing.append(f"{rel}: module")

        def walk(node, prefix):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not child.name.startswith("_"):
                    if not ast.get_docstring(child):
                        missing.append(f"{rel}:{child.lineno} {prefix}{child.name}")
                    if isinstance(child, ast.ClassDef):
                        walk(child, f"{prefix}{child.name}.")

        walk(tree, "")
    return missing


def test_every_public_definition_has_a_docstring():
    missing = undocumented(PACKAGE)
    assert not missing, f"{len(missing)} public definitions without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text('"""A module."""\n\n\nclass Thing:\n    """A thing."""\n\n    def size(self):\n        return 1\n\n    def _hidden(self):\n        return 2\n')
    assert undocumented(pkg) == ["pkg/mod.py:7 Thing.size"]
