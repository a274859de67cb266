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


# Writes that are not state changes of a use case: the relay's delivery marks and leases on outbox records, and the
# HTTP edge's Idempotency-Key records. Each is a single-document write of its own machinery; nothing else may write.
STORE_WRITES_OUTSIDE_THE_UNIT_OF_WORK = {
    "claim_outbox", "mark_delivered", "release_outbox", "put_idempotency", "delete_idempotency",
}


def test_the_unit_of_work_is_the_only_path_that_commits_use_case_state():
    """A source scan: only UnitOfWork.commit opens a transaction or a batch; the store offers no other write but the
    named machinery above (the Store port has no create_execution or log_stage of its own)."""
    for path in sorted(SHARED.rglob("*.py")):
        if path.parent.name == "adapters":
            continue
        text = path.read_text(encoding="utf-8")
        for opener in (".run_in_transaction(", ".write_batch("):
            if opener in text:
                assert _module(path) == "shared.runtime.uow", f"{_module(path)} commits outside the unit of work"
    classes = {n.name: n for n in ast.walk(ast.parse((SHARED / "ports.py").read_text(encoding="utf-8")))
               if isinstance(n, ast.ClassDef)}
    store = classes["Store"]  # the composition of the repositories: every method of each of them
    parts = [classes[b.id] for b in store.bases if isinstance(b, ast.Name) and b.id in classes]
    methods = {n.name for part in [store, *parts] for n in part.body if isinstance(n, ast.FunctionDef)}
    writers = {m for m in methods if m.startswith(("put_", "create_", "log_", "delete_", "mark_", "claim_", "release_",
                                                   "begin_", "finish_", "abandon_", "update_"))}
    assert writers == STORE_WRITES_OUTSIDE_THE_UNIT_OF_WORK


# The partner exchange's own records, each written in a transaction or a single document of its own: the first
# receipt of an interchange (its duplicate check) and an acknowledgement's delivery state. Partners and
# acknowledgements are use-case state and commit in the unit of work (Tx.put_partner, Tx.put_ack).
PARTNER_WRITES_OUTSIDE_THE_UNIT_OF_WORK = {"claim_interchange", "set_delivery"}


def test_partners_and_acknowledgements_are_written_only_in_the_unit_of_work():
    port = next(n for n in ast.walk(ast.parse((SHARED / "partners" / "ports.py").read_text(encoding="utf-8")))
                if isinstance(n, ast.ClassDef) and n.name == "PartnerStore")
    methods = {n.name for n in port.body if isinstance(n, ast.FunctionDef)}
    writers = {m for m in methods if not m.startswith(("get_", "list_", "partner_by_", "first_"))}
    assert writers == PARTNER_WRITES_OUTSIDE_THE_UNIT_OF_WORK


def test_no_module_in_shared_is_over_400_lines():
    over = {_module(p) for p in SHARED.rglob("*.py") if len(p.read_text(encoding="utf-8").splitlines()) > 400}
    assert not over, f"over 400 lines: {sorted(over)}"


def test_the_store_and_the_commit_are_only_compositions_of_small_per_aggregate_ports():
    """Repositories per aggregate: each port is small, and Store / Tx declare nothing beyond what their parts do."""
    import inspect

    from shared import ports

    def own_methods(cls: type) -> set[str]:
        return {name for name, value in vars(cls).items()
                if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))}

    for composite in (ports.Store, ports.Tx):
        parts = [base for base in composite.__bases__ if base is not ports.Protocol and base.__name__ != "Generic"]
        assert len(parts) >= 7, composite
        assert own_methods(composite) == set(), f"{composite.__name__} declares methods of its own"
        for part in parts:
            assert 1 <= len(own_methods(part)) <= 8, f"{part.__name__} is not a small port: {sorted(own_methods(part))}"
    repositories = {base.__name__ for base in ports.Store.__bases__}
    assert {"ArtifactRepository", "IntentRepository", "UploadRepository", "JourneyRepository", "ExecutionRepository",
            "OutboxRepository", "IdempotencyRepository"} <= repositories
    # Code that needs one aggregate takes its repository, not the whole store.
    relay = inspect.signature(__import__("shared.runtime.outbox", fromlist=["OutboxRelay"]).OutboxRelay.__init__)
    assert relay.parameters["store"].annotation in ("OutboxRepository", ports.OutboxRepository)
