"""dev/stage.py: each function ships its main.py, shared/ and its own hash-locked requirements, in an archive named by
content, so that a change redeploys exactly the functions it touches."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from infra_support import REPO_ROOT

from dev import lock, stage

pytestmark = pytest.mark.infra

BASE_REQS = "# runtime\nfunctions-framework==3.10.2\npydantic==2.14.3\n"
PARSE_REQS = "# parsers\npyarrow==26.0.1\n"


def make_repo(root: Path) -> Path:
    """A small repository of the project's shape: two sources, one of them shared by two functions."""
    manifest = {
        "functions": [
            {"name": "api-http", "source": "api", "entry_point": "api_http", "trigger": "http", "extra_requirements": []},
            {"name": "api-events", "source": "api", "entry_point": "on_event", "trigger": "pubsub", "extra_requirements": []},
            {
                "name": "worker",
                "source": "worker",
                "entry_point": "work",
                "trigger": "task",
                "extra_requirements": ["requirements-parse.txt"],
            },
        ]
    }
    files = {
        "infra/functions.json": json.dumps(manifest),
        "functions/api/main.py": "from shared import core\n",
        "functions/worker/main.py": "from shared.parsing import rows\n",
        "shared/__init__.py": "",
        "shared/core.py": "VALUE = 1\n",
        "shared/parsing/__init__.py": "",
        "shared/parsing/rows.py": "ROWS = 1\n",
        "shared/__pycache__/core.cpython-312.pyc": "stale bytecode",
        "requirements.txt": BASE_REQS,
        "requirements-parse.txt": PARSE_REQS,
        "requirements-dev.txt": "-r requirements.txt\n-r requirements-parse.txt\npytest==9.2.0\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    write_locks(root)
    return root


def write_locks(root: Path) -> None:
    """Locks as `make lock` heads them (the resolved body is opaque to staging)."""
    for s in lock.lock_sets(root):
        path = root / s.path
        path.parent.mkdir(exist_ok=True)
        digest = lock.inputs_digest(root, s.inputs)
        path.write_text(f"# inputs-sha256: {digest}\n# {s.name} resolved\nfunctions-framework==3.10.2 --hash=sha256:{'ab' * 32}\n")


def archives(manifest: dict) -> dict[str, str]:
    return {source: entry["archive"] for source, entry in manifest["sources"].items()}


def test_stage_builds_each_source_with_main_shared_and_merged_requirements(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    manifest = stage.stage_all(repo, tmp_path / "build")

    assert set(manifest["sources"]) == {"api", "worker"}
    assert manifest["sources"]["api"]["functions"] == ["api-http", "api-events"]
    api = tmp_path / "build" / "api"
    assert (api / "main.py").read_text() == "from shared import core\n"
    assert (api / "shared" / "core.py").is_file()
    assert not list(api.rglob("__pycache__")), "bytecode is not shipped"
    # Each ships the lock of its own dependency set, hashes and all.
    assert (api / "requirements.txt").read_text() == (repo / "locks" / "functions.txt").read_text()
    worker_reqs = (tmp_path / "build" / "worker" / "requirements.txt").read_text()
    assert worker_reqs == (repo / "locks" / "functions-parse.txt").read_text()
    assert manifest["sources"]["worker"]["requirements"] == ["functions-framework==3.10.2", "pyarrow==26.0.1", "pydantic==2.14.3"]
    written = json.loads((tmp_path / "build" / "manifest.json").read_text())
    assert written == manifest


def test_only_the_source_with_parse_requirements_ships_shared_parsing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    stage.stage_all(repo, tmp_path / "build")
    assert not (tmp_path / "build" / "api" / "shared" / "parsing").exists()
    assert (tmp_path / "build" / "worker" / "shared" / "parsing" / "rows.py").is_file()


def test_archive_is_deterministic_and_named_by_the_staged_content(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = stage.stage_all(repo, tmp_path / "one")
    os.utime(repo / "shared" / "core.py", (1, 1))  # a new mtime alone changes nothing
    second = stage.stage_all(repo, tmp_path / "two")
    assert archives(first) == archives(second)
    for source, name in archives(first).items():
        one, two = (tmp_path / "one" / name), (tmp_path / "two" / name)
        assert one.read_bytes() == two.read_bytes()
        digest = stage.tree_digest(tmp_path / "one" / source)
        assert name == f"{source}-{digest[:12]}.zip"
        with zipfile.ZipFile(one) as zf:
            names = zf.namelist()
            assert names == sorted(names)
            assert {info.date_time for info in zf.infolist()} == {stage.ZIP_EPOCH}
            for info in zf.infolist():
                staged = tmp_path / "one" / source / info.filename
                assert zf.read(info) == staged.read_bytes()


def test_a_change_redeploys_exactly_the_functions_it_touches(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    before = archives(stage.stage_all(repo, tmp_path / "build"))

    (repo / "functions" / "api" / "main.py").write_text("from shared import core  # changed\n")
    after_main = archives(stage.stage_all(repo, tmp_path / "build"))
    assert after_main["api"] != before["api"]
    assert after_main["worker"] == before["worker"]

    (repo / "shared" / "parsing" / "rows.py").write_text("ROWS = 2\n")
    after_parsing = archives(stage.stage_all(repo, tmp_path / "build"))
    assert after_parsing["api"] == after_main["api"], "shared/parsing is not in the api source"
    assert after_parsing["worker"] != after_main["worker"]

    (repo / "shared" / "core.py").write_text("VALUE = 2\n")
    after_core = archives(stage.stage_all(repo, tmp_path / "build"))
    assert after_core["api"] != after_parsing["api"] and after_core["worker"] != after_parsing["worker"]

    # Stale archives of a source are removed, so the build folder holds exactly what Terraform uploads.
    assert sorted(p.name for p in (tmp_path / "build").glob("*.zip")) == sorted(after_core.values())


def test_conflicting_pins_are_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "requirements-parse.txt").write_text("pydantic==2.0.0\n")
    with pytest.raises(stage.StageError, match="conflicting pins for pydantic"):
        stage.stage_all(repo, tmp_path / "build")


def test_a_missing_or_stale_lock_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "requirements-parse.txt").write_text(PARSE_REQS + "pypdf==7.1.0\n")
    with pytest.raises(stage.StageError, match=r"locks/functions-parse.txt does not match .*make lock"):
        stage.stage_all(repo, tmp_path / "build")
    write_locks(repo)
    stage.stage_all(repo, tmp_path / "build")
    (repo / "locks" / "functions.txt").unlink()
    with pytest.raises(stage.StageError, match=r"locks/functions.txt is missing"):
        stage.stage_all(repo, tmp_path / "build")


def test_missing_function_source_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "functions" / "worker" / "main.py").unlink()
    assert stage.main(["--root", str(repo), "--out", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert "functions/worker/main.py is missing" in err and "worker" in err
    assert "Traceback" not in err


# ---- the real functions, each in a clean virtualenv with its own requirements only ---------------------------------


def _clean_env() -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "TMPDIR", "PIP_CACHE_DIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"}
    return {k: v for k, v in os.environ.items() if k in keep}


def _venv_for(requirements: Path, cache: Path) -> Path:
    """One virtualenv per distinct requirement set."""
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = cache / key
    python = venv / "bin" / "python"
    if not python.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, env=_clean_env(), timeout=120)
        proc = subprocess.run(  # no bytecode at install: the probe compiles only what it imports
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "-r", str(requirements)],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"pip install -r {requirements} failed:\n{proc.stderr[-3000:]}"
    return python


@pytest.mark.staging
def test_every_staged_function_imports_its_entry_point_in_a_clean_virtualenv(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("build")
    venvs = tmp_path_factory.mktemp("venvs")
    manifest = stage.stage_all(REPO_ROOT, out)
    declared = json.loads((REPO_ROOT / "infra" / "functions.json").read_text())["functions"]
    expected_signature = {"http": "http", "task": "http", "scheduler": "http", "storage_finalize": "cloudevent",
                          "storage_delete": "cloudevent", "pubsub": "cloudevent", "budget": "cloudevent"}

    for fn in declared:
        assert fn["name"] in manifest["sources"][fn["source"]]["functions"]
    # One virtualenv per distinct lock (pip checks every hash), built side by side.
    locks = {fn["source"]: out / fn["source"] / "requirements.txt" for fn in declared}
    by_lock = {hashlib.sha256(path.read_bytes()).digest(): path for path in locks.values()}
    with ThreadPoolExecutor(max_workers=len(by_lock)) as pool:
        list(pool.map(lambda path: _venv_for(path, venvs), by_lock.values()))

    def check(fn: dict) -> str | None:
        source_dir = out / fn["source"]
        python = _venv_for(source_dir / "requirements.txt", venvs)
        # The runtime's own loader: functions-framework imports main.py from the source dir and finds the target.
        probe = (
            "import functions_framework\n"
            "from functions_framework import _function_registry as r\n"
            f"functions_framework.create_app(target={fn['entry_point']!r}, source='main.py')\n"
            # Every shipped module of shared/ must import with this function's requirements alone.
            "import importlib, pkgutil, shared\n"
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(shared.__path__, 'shared.')]\n"
            f"print(r.get_func_signature_type({fn['entry_point']!r}, None))\n"
        )
        proc = subprocess.run(
            [str(python), "-I", "-c", f"import sys; sys.path.insert(0, '.')\n{probe}"],
            cwd=source_dir,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            return f"{fn['name']}: {proc.stderr.strip()[-2000:]}"
        signature = proc.stdout.strip().splitlines()[-1]
        wanted = expected_signature[fn["trigger"]]
        if signature != wanted:
            return f"{fn['name']}: {fn['entry_point']} is a {signature} function; trigger {fn['trigger']} needs {wanted}"
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(check, declared) if f]
    assert not failures, "\n".join(failures)
