"""The shape the message bus promises, read from the source: thin entry points, one owner of the lifecycle, handlers
named by bootstrap and never registered at import time. Pure (AST only, nothing runs)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"


def _imports(path: Path) -> set[str]:
    """Every module a file imports (at any depth, type-checking imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_entry_points_import_only_bootstrap_and_the_edges():
    for main in sorted((ROOT / "functions").glob("*/main.py")):
        ours = {m for m in _imports(main) if m.startswith("shared")}
        stray = {m for m in ours if not m.startswith(("shared.bootstrap", "shared.edges"))}
        assert not stray, f"{main.relative_to(ROOT)} imports {sorted(stray)}"


def test_only_the_bus_and_bootstrap_know_the_lifecycle():
    allowed = {"shared.messagebus", "shared.bootstrap", "shared.runtime.lifecycle"}
    for path in sorted(SHARED.rglob("*.py")):
        if _module(path) in allowed:
            continue
        assert "shared.runtime.lifecycle" not in _imports(path), f"{_module(path)} imports the lifecycle"


def test_the_unit_of_work_and_the_lifecycle_do_not_import_each_other():
    assert not any(m.startswith("shared.runtime.lifecycle") for m in _imports(SHARED / "runtime" / "uow.py"))
    assert not any(m.startswith("shared.runtime.uow") for m in _imports(SHARED / "runtime" / "lifecycle.py"))


def test_no_module_registers_a_handler_when_imported():
    """Handlers are named in bootstrap's maps; a module-level call that registers one would hide a handler there."""
    for path in sorted(SHARED.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            call = node.value if isinstance(node, ast.Expr) else None
            if isinstance(call, ast.Call):
                name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                assert "register" not in name, f"{_module(path)} calls {name} at import time"


def test_use_cases_build_no_http_status():
    """Presentation lives at the edges: no use case names a success status or builds a response."""
    for path in sorted((SHARED / "usecases").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("success_status", "status_code", "_response("):
            assert needle not in text, f"{_module(path)} contains {needle}"
