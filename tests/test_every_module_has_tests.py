"""Every module in src/difffake has tests of its own: some test file imports it by name.

A module only reached through another one's tests can break without a test
pointing at it; this keeps the rule from issue 9 true as modules are added.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "difffake"
TESTS = Path(__file__).resolve().parent

# Entry points and package markers have no behaviour of their own to test.
NOT_MODULES = {"difffake.__main__"}


def src_modules() -> set[str]:
    names = set()
    for path in SRC.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        dotted = ".".join(("difffake", *path.relative_to(SRC).with_suffix("").parts))
        names.add(dotted)
    return names - NOT_MODULES


def imported_by(path: Path) -> set[str]:
    """Dotted names a file imports, with `from pkg import mod` counted as pkg.mod."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_scan_sees_modules_and_imports():
    modules = src_modules()
    assert "difffake.detector" in modules and "difffake.anomaly.densities.gmm" in modules
    assert "difffake.__main__" not in modules
    assert {"difffake.faces.store", "difffake.errors"} <= imported_by(TESTS / "faces" / "test_store.py")


def test_every_module_is_imported_by_a_test():
    named = set()
    for path in TESTS.rglob("*.py"):
        named |= imported_by(path)
    missing = sorted(src_modules() - named)
    assert not missing, f"{len(missing)} modules have no test that imports them: {missing}"
