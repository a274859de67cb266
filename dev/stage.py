"""Stage each function's deploy source: its main.py, a copy of shared/ and its hash-locked requirements.

    python -m dev.stage [--out build] [--root .]

For every distinct `source` in infra/functions.json this builds `<out>/<source>/` and a deterministic archive
`<out>/<source>-<12 hex of the staged tree's sha256>.zip`, writes `<out>/manifest.json` and prints it. Terraform
uploads the archives under those names, so a change redeploys exactly the functions whose staged tree changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_FILE = Path("infra/functions.json")
BASE_REQUIREMENTS = "requirements.txt"

# shared/ subpackages that only ship with the requirements file that brings their libraries. Everything else in
# shared/ ships with every function; a function without the file must not import the subpackage.
# The OCR adapters read page images that only the parser renders (and Document AI's client is a parse requirement).
OPTIONAL_SUBPACKAGES: dict[str, tuple[str, ...]] = {
    "requirements-parse.txt": ("parsing", "adapters/ocr"),
}

IGNORED_NAMES = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
HASH_HEX = 12
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class StageError(Exception):
    """A declaration or a source file is missing or inconsistent."""


@dataclass(frozen=True)
class StagedSource:
    source: str
    functions: tuple[str, ...]
    directory: Path
    archive: Path
    digest: str
    requirements: tuple[str, ...]
    files: int

    def manifest_entry(self) -> dict[str, object]:
        return {
            "archive": self.archive.name,
            "sha256": self.digest,
            "functions": list(self.functions),
            "requirements": list(self.requirements),
            "files": self.files,
        }


def load_functions(root: Path) -> list[dict]:
    path = root / FUNCTIONS_FILE
    try:
        declared = json.loads(path.read_text())["functions"]
    except FileNotFoundError as exc:
        raise StageError(f"{path} is missing") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise StageError(f"{path} is not a function manifest: {exc}") from exc
    for entry in declared:
        for key in ("name", "source", "entry_point"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise StageError(f"{path}: a function has no '{key}': {entry}")
    return declared


def group_by_source(declared: list[dict]) -> dict[str, dict[str, object]]:
    """One staged tree per source dir; functions sharing a source must agree on their extra requirements."""
    sources: dict[str, dict[str, object]] = {}
    for entry in declared:
        extras = tuple(entry.get("extra_requirements") or ())
        group = sources.setdefault(entry["source"], {"functions": [], "extras": extras})
        if group["extras"] != extras:
            raise StageError(
                f"functions from source '{entry['source']}' disagree on extra_requirements: {group['extras']} vs {extras} ({entry['name']})"
            )
        functions = group["functions"]
        assert isinstance(functions, list)
        functions.append(entry["name"])
    return sources


def read_requirements(path: Path, seen: set[Path] | None = None) -> list[str]:
    """Requirement lines of a file, following `-r` includes, without comments or blank lines."""
    seen = seen or set()
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    if not path.is_file():
        raise StageError(f"requirements file {path} is missing")
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines.extend(read_requirements(path.parent / line.split(None, 1)[1], seen))
            continue
        if line.startswith("-"):
            raise StageError(f"{path}: option lines are not supported in deploy requirements: {line}")
        lines.append(line)
    return lines


def merge_requirements(root: Path, extras: tuple[str, ...]) -> list[str]:
    """The base runtime requirements plus the extras, one pin per package; conflicting pins are an error."""
    merged: dict[str, str] = {}
    for name in (BASE_REQUIREMENTS, *extras):
        for line in read_requirements(root / name):
            match = _REQUIREMENT_NAME.match(line)
            if not match:
                raise StageError(f"{name}: cannot read the package name of '{line}'")
            key = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            if key in merged and merged[key] != line:
                raise StageError(f"conflicting pins for {key}: '{merged[key]}' and '{line}'")
            merged[key] = line
    return [merged[key] for key in sorted(merged)]


def locked_requirements(root: Path, extras: tuple[str, ...]) -> str:
    """The hash-locked set for these requirements (locks/, `make lock`): every transitive pin and its hashes, so a
    redeploy of this commit installs the same bytes. A missing or stale lock is an error, never a floating install."""
    from dev import lock  # dev.lock reads this module's requirement helpers

    path = lock.lock_for_function(root, extras)
    rel = path.relative_to(root)
    if not path.is_file():
        raise StageError(f"{rel} is missing: run `make lock`")
    if lock.recorded_digest(path) != lock.inputs_digest(root, (BASE_REQUIREMENTS, *extras)):
        raise StageError(f"{rel} does not match {', '.join((BASE_REQUIREMENTS, *extras))}: run `make lock`")
    return path.read_text()


def _copy_tree(src: Path, dst: Path, skip: set[Path]) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in IGNORED_NAMES for part in rel.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if any(path == s or s in path.parents for s in skip):
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def tree_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def tree_digest(directory: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order: equal trees give equal digests."""
    digest = hashlib.sha256()
    for path in tree_files(directory):
        rel = path.relative_to(directory).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def write_zip(directory: Path, archive: Path) -> None:
    """Sorted entries, fixed timestamps and modes, so the same tree always gives the same bytes."""
    tmp = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in tree_files(directory):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, so the mode above is read as such on every platform
            zf.writestr(info, path.read_bytes())
    tmp.replace(archive)


def stage_source(root: Path, out: Path, source: str, functions: tuple[str, ...], extras: tuple[str, ...]) -> StagedSource:
    main_py = root / "functions" / source / "main.py"
    if not main_py.is_file():
        raise StageError(f"functions/{source}/main.py is missing (declared for {', '.join(functions)})")
    shared_dir = root / "shared"
    if not (shared_dir / "__init__.py").is_file():
        raise StageError("shared/__init__.py is missing")

    shipped = {pkg for extra in extras for pkg in OPTIONAL_SUBPACKAGES.get(extra, ())}
    skip = {shared_dir / pkg for extras_pkgs in OPTIONAL_SUBPACKAGES.values() for pkg in extras_pkgs if pkg not in shipped}

    directory = out / source
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    shutil.copyfile(main_py, directory / "main.py")
    _copy_tree(shared_dir, directory / "shared", skip)
    requirements = merge_requirements(root, extras)
    (directory / "requirements.txt").write_text(locked_requirements(root, extras))

    digest = tree_digest(directory)
    archive = out / f"{source}-{digest[:HASH_HEX]}.zip"
    for stale in out.glob(f"{source}-*.zip"):
        if stale != archive and re.fullmatch(rf"{re.escape(source)}-[0-9a-f]{{{HASH_HEX}}}\.zip", stale.name):
            stale.unlink()
    write_zip(directory, archive)
    return StagedSource(
        source=source,
        functions=functions,
        directory=directory,
        archive=archive,
        digest=digest,
        requirements=tuple(requirements),
        files=len(tree_files(directory)),
    )


def stage_all(root: Path, out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    grouped = group_by_source(load_functions(root))
    staged = {}
    for source, group in sorted(grouped.items()):
        functions = group["functions"]
        extras = group["extras"]
        assert isinstance(functions, list) and isinstance(extras, tuple)
        staged[source] = stage_source(root, out, source, tuple(functions), extras).manifest_entry()
    manifest: dict[str, object] = {"sources": staged}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default="build", help="output folder (default: build)")
    parser.add_argument("--root", default=str(REPO_ROOT), help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    out = Path(args.out)
    out = out if out.is_absolute() else root / out
    try:
        manifest = stage_all(root, out)
    except StageError as exc:
        sys.stderr.write(f"stage: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
