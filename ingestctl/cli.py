"""ingestctl: upload files with progress bars and resume, choose a parse profile, follow executions, save, read.

Exit codes: 0 done, 1 failed, 2 usage. Errors are one line with the service's error_code and execution_id."""

from __future__ import annotations

import glob
import json
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_any
from pathlib import Path
from typing import Any

import click
import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ingestctl import __version__
from ingestctl.client import Api, CliError
from ingestctl.config import SOURCE_ROOT, UsageError, credentials_file, load_login, resolve_api, save_login
from ingestctl.transfer import Cancelled, FileJob, FileResult, Options, Uploader, follow_execution, save_artifact

PROFILES = ("structured", "unstructured", "hybrid")
FROM_STDIN = "-"
MAX_PARALLEL = 16
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    def __init__(self, api: str | None, as_json: bool):
        self.api_option = api
        self.as_json = as_json

    def api_url(self) -> str:
        return resolve_api(self.api_option)

    def client(self) -> Api:
        url = self.api_url()
        login = load_login(url)
        if login is None:
            raise CliError(f"not signed in to {url}; run `ingestctl login --tenant T --user U` first")
        return Api(url, login["token"])


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--json` is accepted after any command as well as before it."""
    return click.option("--json", "as_json", is_flag=True, default=False, help="Machine-readable output.")(fn)


def _state(ctx: click.Context, as_json: bool) -> State:
    state = ctx.find_object(State)
    if state is None:
        raise UsageError("internal: no CLI state")
    if as_json:
        state.as_json = True
    return state


def emit(state: State, data: Any, human: Callable[[], None]) -> None:
    if state.as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        sys.stdout.flush()
    else:
        human()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--api", "api", metavar="URL", default=None,
              help="Service URL. Default: the local stack's gateway (.local/stack.json), else $INGEST_API.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Machine-readable output.")
@click.version_option(__version__, prog_name="ingestctl")
@click.pass_context
def cli(ctx: click.Context, api: str | None, as_json: bool) -> None:
    """Upload files to the ingestion service, parse them with a profile, save them as records, and read them back."""
    ctx.obj = State(api, as_json)


# ---- login ----------------------------------------------------------------------------------------------------------

def _dev_token(tenant: str, user: str, session: str | None, ttl: int, roles: tuple[str, ...] = ()) -> str:
    """The local dev issuer, through the same code as `python -m dev.token`."""
    if str(SOURCE_ROOT) not in sys.path and (SOURCE_ROOT / "dev" / "token.py").is_file():
        sys.path.insert(0, str(SOURCE_ROOT))
    try:
        from dev.token import mint_token
    except ImportError:
        raise CliError("no local dev issuer here; in production sign in (Identity Platform, or "
                       "`gcloud auth print-identity-token`) and pass the token with --token") from None
    return mint_token(tenant, user, session, ttl_seconds=ttl, extra_claims={"roles": sorted(set(roles))} if roles else None)


@cli.command()
@click.option("--tenant", help="Tenant id (local dev issuer).")
@click.option("--user", help="User id (local dev issuer).")
@click.option("--session", default=None, help="Session id; a new one is made when omitted.")
@click.option("--token", default=None, help="A bearer token to store instead (Identity Platform or Google identity token); - reads stdin.")
@click.option("--ttl", default=12 * 3600, show_default=True, help="Lifetime in seconds of a dev token.")
@click.option("--role", "roles", multiple=True, help="A role claim of a dev token (operator: `dlq`); repeatable.")
@json_option
@click.pass_context
def login(ctx: click.Context, tenant: str | None, user: str | None, session: str | None, token: str | None, ttl: int,
          roles: tuple[str, ...], as_json: bool) -> int:
    """Sign in and keep the token in the config dir (0600)."""
    state = _state(ctx, as_json)
    api = state.api_url()
    if token == FROM_STDIN:
        token = sys.stdin.readline().strip()
    if not token:
        if not tenant or not user:
            raise UsageError("login needs --tenant and --user (local dev issuer), or --token")
        token = _dev_token(tenant, user, session, ttl, roles)
    Api(api, token).call("GET", "/v1/pending-intents", expect=(200,))  # the service accepts it, or says why not
    entry = save_login(api, token)
    data = {"api": api, "tenant": entry["tenant"], "user": entry["user"], "session": entry["session"],
            "credentials_file": str(credentials_file())}
    emit(state, data, lambda: out.print(
        f"signed in to {api} as [bold]{entry['user']}[/] of tenant [bold]{entry['tenant']}[/] "
        f"(session {entry['session']}); token kept in {credentials_file()}"))
    return 0


# ---- upload -----------------------------------------------------------------------------------------------------------

def expand_paths(patterns: Iterable[str]) -> list[Path]:
    """Files named directly, every file under a directory (hidden ones skipped), and glob matches."""
    found: dict[Path, None] = {}

    def add_tree(root: Path) -> None:
        for item in sorted(root.rglob("*")):
            if item.is_file() and not any(part.startswith(".") for part in item.relative_to(root).parts):
                found[item.resolve()] = None

    for pattern in patterns:
        path = Path(pattern).expanduser()
        if path.is_dir():
            add_tree(path)
        elif path.is_file():
            found[path.resolve()] = None
        elif glob.has_magic(pattern):
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise UsageError(f"no files match {pattern}")
            for match in map(Path, matches):
                if match.is_dir():
                    add_tree(match)
                elif match.is_file():
                    found[match.resolve()] = None
        else:
            raise UsageError(f"no such file or directory: {pattern}")
    if not found:
        raise UsageError("no files to upload")
    return list(found)


class Bars:
    """One bar per file and one for all files (rich), or nothing when the output is not a terminal or is JSON."""

    def __init__(self, jobs: list[FileJob], enabled: bool, lines: bool = False):
        self._lines = lines and not enabled  # no bars: say each step on its own line instead
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), TextColumn("[dim]{task.fields[note]}[/]"), console=err, disable=not enabled,
            transient=False,
        )
        self._lock = threading.Lock()
        self._done: dict[FileJob, int] = {}
        width = min(max((len(j.name) for j in jobs), default=10), 40)
        self._labels = {j: j.name[:width].ljust(width) for j in jobs}
        self.overall = self.progress.add_task(f"[bold]{'all files'.ljust(width)}[/]", total=sum(j.size for j in jobs),
                                              note=f"{len(jobs)} files")
        self.tasks: dict[FileJob, TaskID] = {j: self.progress.add_task(self._labels[j], total=j.size, note="")
                                             for j in jobs}

    def bytes_done(self, job: FileJob, completed: int) -> None:
        with self._lock:
            self._done[job] = completed
            self.progress.update(self.tasks[job], completed=completed)
            self.progress.update(self.overall, completed=sum(self._done.values()))

    def note(self, job: FileJob, text: str) -> None:
        self.progress.update(self.tasks[job], note=text)
        if self._lines:
            err.print(f"{job.name}: {text}", markup=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--profile", type=click.Choice(PROFILES), default=None, help="Parse each file with this ingestion profile.")
@click.option("--wait", is_flag=True, help="Follow each parse's stages until it completes or fails.")
@click.option("--save", is_flag=True, help="Save each file (and its parsed content) as a record of fact.")
@click.option("--parallel", type=click.IntRange(1, MAX_PARALLEL), default=4, show_default=True, help="Files sent at once.")
@click.option("--chunk-size", "chunk_mib", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="MiB per resumable chunk, rounded up to a multiple of the service's chunk_size. Bigger is faster; "
                   "an interruption loses at most one chunk.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for ingestion, and for each parse.")
@json_option
@click.pass_context
def upload(ctx: click.Context, paths: tuple[str, ...], profile: str | None, wait: bool, save: bool, parallel: int,
           chunk_mib: int, timeout: float, as_json: bool) -> int:
    """Upload files, directories and globs. Running it again after an interruption resumes each file."""
    state = _state(ctx, as_json)
    jobs = [FileJob.of(p) for p in expand_paths(paths)]
    api = state.client()
    login = load_login(api.base) or {}
    owner = f"{login.get('tenant')}/{login.get('user')}"
    options = Options(profile=profile, wait=wait, save=save, chunk_bytes=chunk_mib * 1024 * 1024, timeout=timeout)
    cancel = threading.Event()
    bars = Bars(jobs, enabled=not state.as_json and err.is_terminal, lines=not state.as_json)
    uploader = Uploader(api, owner, options, bars, cancel)
    results: list[FileResult] = []
    waited = bool(wait and profile)

    def finished(result: FileResult) -> None:
        results.append(result)
        if state.as_json:
            sys.stdout.write(json.dumps(result.as_json(waited)) + "\n")
            sys.stdout.flush()
        elif result.error is not None:
            bars.progress.console.print(f"[red]{result.job.name}:[/] {result.error.line()}")

    pool = ThreadPoolExecutor(max_workers=min(parallel, len(jobs)), thread_name_prefix="upload")
    pending: set[Future[FileResult]] = set()
    try:
        with bars.progress:
            pending = {pool.submit(uploader.run, job) for job in jobs}
            while pending:
                done, pending = wait_for_any(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(future.result())
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise CliError(f"interrupted; {len(jobs) - len(results)} of {len(jobs)} files unfinished: "
                       "run the same command again to resume them") from None
    pool.shutdown(wait=True)
    if not state.as_json:
        _upload_table(results, waited)
    return 0 if all(r.ok for r in results) else 1


def _upload_table(results: list[FileResult], waited: bool) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("file", "upload_id", "file_id", "status", *(("parse", "parsed") if waited else ())):
        table.add_column(column)
    for r in sorted(results, key=lambda r: str(r.job.path)):
        status = "[red]failed[/]" if r.error else (r.upload_status or "")
        if r.resumed_from:
            status += f" (resumed at {r.resumed_from:,} B)"
        row = [r.job.name, r.upload_id or "", r.file_id or "", status]
        if waited:
            row += [r.execution_status or "", r.parsed_artifact_id or ""]
        table.add_row(*row)
    out.print(table)


# ---- reads and intents ------------------------------------------------------------------------------------------------

@cli.command(name="ls")
@click.option("--type", "artifact_type", default=None, help="file, parsed_content, ...")
@click.option("--state", "lifecycle_state", default=None, help="PENDING, READY, ...")
@click.option("--session", "session_id", default=None, help="Only this session's artifacts.")
@click.option("--all", "every_page", is_flag=True, help="Follow every page.")
@json_option
@click.pass_context
def ls(ctx: click.Context, artifact_type: str | None, lifecycle_state: str | None, session_id: str | None,
       every_page: bool, as_json: bool) -> int:
    """List your tenant's artifacts."""
    state = _state(ctx, as_json)
    api = state.client()
    params = {k: v for k, v in {"artifact_type": artifact_type, "lifecycle_state": lifecycle_state,
                                "session_id": session_id}.items() if v}
    artifacts: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = api.call("GET", "/v1/artifacts", expect=(200,), params={**params, **({"page_token": token} if token else {})})
        artifacts += page.get("artifacts", [])
        token = page.get("next_page_token")
        if not token or not every_page:
            break

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("artifact_id", "type", "state", "name", "size", "created_at"):
            table.add_column(column)
        for a in artifacts:
            table.add_row(a.get("artifact_id", ""), a.get("artifact_type", ""), a.get("lifecycle_state", ""),
                          str(a.get("ui_name") or a.get("filename") or ""), f"{a['file_size']:,}" if a.get("file_size") else "",
                          str(a.get("created_at", ""))[:19])
        out.print(table)
        if token:
            out.print("[dim]more: ingestctl ls --all[/]")

    emit(state, {"artifacts": artifacts, "next_page_token": token}, human)
    return 0


def _print_stage(stage: str) -> None:
    out.print(f"  {stage}")


@cli.command()
@click.argument("execution_id")
@click.option("--wait", is_flag=True, help="Follow the stages until the execution completes or fails.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@json_option
@click.pass_context
def status(ctx: click.Context, execution_id: str, wait: bool, timeout: float, as_json: bool) -> int:
    """Show an execution: its status and its stages."""
    state = _state(ctx, as_json)
    api = state.client()
    if wait:
        on_stage = (lambda _s: None) if state.as_json else _print_stage
        execution = follow_execution(api, execution_id, timeout, threading.Event(), on_stage)
    else:
        execution = api.call("GET", f"/v1/executions/{execution_id}", expect=(200,))

    def human() -> None:
        if not wait:
            for entry in execution.get("stages") or []:
                _print_stage(str(entry.get("stage")))
        line = f"execution {execution_id}: [bold]{execution.get('status')}[/]"
        if execution.get("error"):
            line += f" — {execution['error']}"
        out.print(line)

    emit(state, execution, human)
    return 1 if execution.get("status") == "failed" else 0


@cli.command()
@click.option("--file", "file_id", default=None, help="Only intents for this file.")
@click.option("--all-states", is_flag=True, help="Every state, not only pending.")
@json_option
@click.pass_context
def pending(ctx: click.Context, file_id: str | None, all_states: bool, as_json: bool) -> int:
    """List your tenant's pending intents (the profile choices waiting to run), from any session."""
    state = _state(ctx, as_json)
    api = state.client()
    params = {k: v for k, v in {"target_artifact_id": file_id, "status": None if all_states else "pending"}.items() if v}
    intents = api.call("GET", "/v1/pending-intents", expect=(200,), params=params).get("intents", [])

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("intent_id", "type", "status", "file", "profile", "session", "created_at"):
            table.add_column(column)
        for i in intents:
            table.add_row(i.get("intent_id", ""), i.get("intent_type", ""), i.get("status", ""),
                          str(i.get("target_artifact_id") or ""), str((i.get("context") or {}).get("ingestion_profile") or ""),
                          str(i.get("session_id") or ""), str(i.get("created_at", ""))[:19])
        out.print(table)

    emit(state, {"intents": intents}, human)
    return 0


@cli.command()
@click.argument("file_id")
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="Ingestion profile; optional when a pending intent for the file already holds one.")
@click.option("--wait", is_flag=True, help="Follow the parse until it completes or fails.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@json_option
@click.pass_context
def parse(ctx: click.Context, file_id: str, profile: str | None, wait: bool, timeout: float, as_json: bool) -> int:
    """Parse a file (parse_content)."""
    state = _state(ctx, as_json)
    api = state.client()
    parameters: dict[str, Any] = {"file_id": file_id}
    if profile:
        parameters["ingestion_profile"] = profile
    accepted = api.call("POST", "/v1/intents/parse_content", expect=(200, 201, 202), json={"parameters": parameters})
    data = dict(accepted)
    if wait:
        on_stage = (lambda _s: None) if state.as_json else _print_stage
        execution = follow_execution(api, accepted["execution_id"], timeout, threading.Event(), on_stage)
        data.update(status=execution["status"], artifact_id=(execution.get("result") or {}).get("artifact_id"),
                    error=execution.get("error"))
    emit(state, data, lambda: out.print(
        f"parse of {file_id}: execution {data['execution_id']} [bold]{data.get('status')}[/]"
        + (f", parsed artifact {data['artifact_id']}" if data.get("artifact_id") else "")
        + (f" — {data['error']}" if data.get("error") else "")))
    return 1 if data.get("status") == "failed" else 0


@cli.command()
@click.argument("artifact_id")
@json_option
@click.pass_context
def save(ctx: click.Context, artifact_id: str, as_json: bool) -> int:
    """Save an artifact as a record of fact (READY, persistent)."""
    state = _state(ctx, as_json)
    body = save_artifact(state.client(), artifact_id)
    emit(state, body, lambda: out.print(f"{artifact_id}: [bold]{body.get('lifecycle_state', 'READY')}[/]"))
    return 0


@cli.command()
@click.argument("artifact_id")
@json_option
@click.pass_context
def lineage(ctx: click.Context, artifact_id: str, as_json: bool) -> int:
    """Show where an artifact comes from, back to the uploaded file."""
    state = _state(ctx, as_json)
    body = state.client().call("GET", f"/v1/artifacts/{artifact_id}/lineage", expect=(200,))

    def human() -> None:
        for hop in body.get("chain", []):
            out.print(f"gen {hop.get('generation')}: {hop.get('artifact_id')} ({hop.get('artifact_type')}, "
                      f"{hop.get('lifecycle_state')}) via {hop.get('derivation_intent') or '-'}"
                      f"{' run ' + hop['derivation_run_id'] if hop.get('derivation_run_id') else ''}")

    emit(state, body, human)
    return 0


def _download_part(part: dict[str, Any], target: Path) -> int:
    if part.get("delivery") == "inline":
        content = part.get("content")
        if part.get("encoding") == "jsonl":
            text = "".join(json.dumps(row) + "\n" for row in content or [])
        elif part.get("encoding") == "json":
            text = json.dumps(content, indent=2)
        else:
            text = str(content)
        data = text.encode()
        target.write_bytes(data)
        return len(data)
    written = 0
    try:
        with requests.get(part["download_url"], stream=True, timeout=(15, 600)) as resp:
            if resp.status_code != 200:
                raise CliError(f"downloading {part.get('name')} answered HTTP {resp.status_code}")
            with target.open("wb") as sink:
                for piece in resp.iter_content(1024 * 1024):
                    sink.write(piece)
                    written += len(piece)
    except requests.RequestException as exc:
        raise CliError(f"downloading {part.get('name')} failed: {type(exc).__name__}") from None
    return written


def start_regeneration(api: Any, artifact_id: str) -> dict[str, Any]:
    return api.call("POST", f"/v1/artifacts/{artifact_id}/regenerate", expect=(202,))


def regenerate_artifact(api: Any, artifact_id: str, timeout: float, on_stage: Callable[[str], None]) -> dict[str, Any]:
    """Re-run an expired derivation's recorded intent and follow it: the new artifact's id, or a CliError saying why
    (NOT_REPRODUCIBLE when its outputs hash differently)."""
    accepted = start_regeneration(api, artifact_id)
    execution = follow_execution(api, accepted["execution_id"], timeout, threading.Event(), on_stage)
    result = execution.get("result") or {}
    if execution.get("status") != "completed" or not result.get("artifact_id"):
        raise CliError(f"regenerating {artifact_id} failed: {execution.get('error') or execution.get('status')}",
                       error_code=execution.get("error_code"), execution_id=accepted["execution_id"])
    return {"regenerated_from": artifact_id, "artifact_id": result["artifact_id"],
            "execution_id": accepted["execution_id"]}


@cli.command()
@click.argument("artifact_id")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the regeneration until it ends.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@json_option
@click.pass_context
def regenerate(ctx: click.Context, artifact_id: str, wait: bool, timeout: float, as_json: bool) -> int:
    """Rebuild an expired derived artifact from its recorded intent and input (byte for byte, or NOT_REPRODUCIBLE)."""
    state = _state(ctx, as_json)
    api = state.client()
    if not wait:
        body = start_regeneration(api, artifact_id)
        emit(state, body, lambda: out.print(f"regenerating {artifact_id}: execution {body['execution_id']}"))
        return 0
    on_stage = (lambda _s: None) if state.as_json else _print_stage
    data = regenerate_artifact(api, artifact_id, timeout, on_stage)
    emit(state, data, lambda: out.print(f"{artifact_id}: regenerated as [bold]{data['artifact_id']}[/]"))
    return 0


@cli.command()
@click.argument("artifact_id")
@click.option("--download", "download", type=click.Path(path_type=Path), default=None,
              help="Write the payload here (a directory when it has several parts).")
@click.option("--regenerate/--no-regenerate", "rebuild", default=True, show_default=True,
              help="With --download: rebuild an expired regenerable payload first.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for a regeneration.")
@json_option
@click.pass_context
def get(ctx: click.Context, artifact_id: str, download: Path | None, rebuild: bool, timeout: float,
        as_json: bool) -> int:
    """Show an artifact; --download writes its payload (regenerating an expired derivation first)."""
    state = _state(ctx, as_json)
    api = state.client()
    params = {"include_payload": "true"} if download else None
    regenerated: dict[str, Any] | None = None
    try:
        body = api.call("GET", f"/v1/artifacts/{artifact_id}", expect=(200,), params=params)
    except CliError as exc:
        if not (download and rebuild and exc.error_code == "PAYLOAD_EXPIRED"
                and isinstance(exc.details, dict) and exc.details.get("regenerable")):
            raise
        if not state.as_json:
            out.print(f"{artifact_id}: payload expired; regenerating it from its recorded intent")
        regenerated = regenerate_artifact(api, artifact_id, timeout, (lambda _s: None) if state.as_json else _print_stage)
        body = api.call("GET", f"/v1/artifacts/{regenerated['artifact_id']}", expect=(200,), params=params)
    written: list[dict[str, Any]] = []
    if download is not None:
        parts = (body.get("payload") or {}).get("parts") or []
        if not parts:
            raise CliError(f"artifact {artifact_id} has no payload to download")
        as_dir = len(parts) > 1 or download.is_dir()
        if as_dir:
            download.mkdir(parents=True, exist_ok=True)
        for part in parts:
            target = download / Path(str(part.get("name") or artifact_id)).name if as_dir else download
            written.append({"path": str(target), "bytes": _download_part(part, target)})
        body = {**body, "downloaded": written, **({"regenerated_from": artifact_id} if regenerated else {})}

    def human() -> None:
        if written:
            for item in written:
                out.print(f"wrote {item['path']} ({item['bytes']:,} bytes)")
            return
        out.print_json(json.dumps(body, default=str))

    emit(state, body, human)
    return 0


@cli.command()
@click.argument("artifact_id")
@json_option
@click.pass_context
def delete(ctx: click.Context, artifact_id: str, as_json: bool) -> int:
    """Delete an artifact (refused while live derived artifacts exist)."""
    state = _state(ctx, as_json)
    body = state.client().call("DELETE", f"/v1/artifacts/{artifact_id}", expect=(200, 202, 204))
    emit(state, body, lambda: out.print(f"{artifact_id}: deleted"))
    return 0


# ---- journeys and dead letters (ingestctl/ops.py) adds its commands to the group ---------------------------------------
from ingestctl import ops, partners  # noqa: E402,F401 - register `journey`, `dlq`, `partners` and `acks` on `cli`
from ingestctl.query import query as _query  # noqa: E402 - its own module; it reads this one's helpers lazily

cli.add_command(_query)


# ---- the entry point: exit codes and one-line errors ------------------------------------------------------------------

def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="ingestctl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return 2
    except click.ClickException as exc:
        exc.show()
        return 1 if exc.exit_code not in (1, 2) else exc.exit_code
    except UsageError as exc:
        err.print(f"usage error: {exc}", markup=False)
        return 2
    except CliError as exc:
        if _wants_json(args):
            sys.stdout.write(json.dumps({"status": "failed", **exc.as_json()}) + "\n")
        err.print(exc.line(), markup=False)
        return 1
    except (KeyboardInterrupt, click.exceptions.Abort):
        err.print("error: interrupted", markup=False)
        return 1
    except Exception as exc:  # noqa: BLE001 - never a traceback: one line a person can act on
        err.print(f"error: unexpected {type(exc).__name__}: {exc}", markup=False)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
