"""`ingestctl journey ...` (start, watch, approve, cancel, pending approvals) and `ingestctl dlq ...` (operators:
list and replay dead-lettered events)."""

from __future__ import annotations

import threading
import time
from typing import Any

import click
from rich.table import Table

from ingestctl.cli import PROFILES, _state, cli, emit, json_option, out
from ingestctl.client import Api, CliError

FINISHED = ("completed", "failed", "cancelled")


def _steps_line(journey: dict[str, Any]) -> str:
    return " → ".join(f"{s.get('name')}:{s.get('status')}" for s in journey.get("steps") or [])


def _print_journey(journey: dict[str, Any]) -> None:
    out.print(f"journey {journey.get('journey_id')}: [bold]{journey.get('status')}[/]"
              + (f" — {journey['error']}" if journey.get("error") else ""))
    for step in journey.get("steps") or []:
        extra = " ".join(f"{k}={step[k]}" for k in ("execution_id", "artifact_id") if step.get(k))
        out.print(f"  {step.get('name'):<20} {step.get('status'):<12} {extra}")


def watch_journey(api: Api, journey_id: str, timeout: float, cancel: threading.Event, on_change: Any,
                  until: tuple[str, ...] = (*FINISHED, "awaiting_approval")) -> dict[str, Any]:
    """Poll a journey until it reaches one of `until`, reporting each change of its steps."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        journey = api.call("GET", f"/v1/journeys/{journey_id}", expect=(200,))
        line = f"{journey.get('status')}: {_steps_line(journey)}"
        if line != seen:
            on_change(journey)
            seen = line
        if journey.get("status") in until:
            return journey
        if time.monotonic() > deadline:
            raise CliError(f"journey {journey_id} is still {journey.get('status')} after {timeout:.0f}s")
        if cancel.wait(0.5):
            raise CliError("interrupted")


def _exit_code(journey: dict[str, Any]) -> int:
    return 1 if journey.get("status") in ("failed",) else 0


@cli.group()
def journey() -> None:
    """Journeys: upload → profile → parse → approval → save, as one process you can watch, approve or cancel."""


@journey.command("start")
@click.argument("target")
@click.option("--profile", type=click.Choice(PROFILES), default=None, help="Parse profile (else the pending choice).")
@click.option("--auto-save", is_flag=True, help="Save without waiting for an approval.")
@click.option("--upload", "is_upload", is_flag=True, help="TARGET is an upload_id still on its way, not a file_id.")
@click.option("--watch", "follow", is_flag=True, help="Follow it until it waits for approval or ends.")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@json_option
@click.pass_context
def journey_start(ctx: click.Context, target: str, profile: str | None, auto_save: bool, is_upload: bool, follow: bool,
                  timeout: float, as_json: bool) -> int:
    """Start a journey for a file (or, with --upload, for an upload)."""
    state = _state(ctx, as_json)
    api = state.client()
    body: dict[str, Any] = {"upload_id" if is_upload else "file_id": target, "save": "auto" if auto_save else "manual"}
    if profile:
        body["ingestion_profile"] = profile
    started = api.call("POST", "/v1/journeys", expect=(201,), json=body)
    result = started
    if follow:
        on_change = (lambda _j: None) if state.as_json else (lambda j: out.print(f"  {j.get('status')}: {_steps_line(j)}"))
        result = watch_journey(api, started["journey_id"], timeout, threading.Event(), on_change)
    emit(state, result, lambda: _print_journey(result))
    return _exit_code(result)


@journey.command("watch")
@click.argument("journey_id")
@click.option("--timeout", type=float, default=600.0, show_default=True)
@json_option
@click.pass_context
def journey_watch(ctx: click.Context, journey_id: str, timeout: float, as_json: bool) -> int:
    """Follow a journey's steps until it waits for approval or ends."""
    state = _state(ctx, as_json)
    on_change = (lambda _j: None) if state.as_json else (lambda j: out.print(f"  {j.get('status')}: {_steps_line(j)}"))
    result = watch_journey(state.client(), journey_id, timeout, threading.Event(), on_change)
    emit(state, result, lambda: _print_journey(result))
    return _exit_code(result)


@journey.command("show")
@click.argument("journey_id")
@json_option
@click.pass_context
def journey_show(ctx: click.Context, journey_id: str, as_json: bool) -> int:
    """Show a journey and its steps."""
    state = _state(ctx, as_json)
    result = state.client().call("GET", f"/v1/journeys/{journey_id}", expect=(200,))
    emit(state, result, lambda: _print_journey(result))
    return _exit_code(result)


def _user_step(ctx: click.Context, journey_id: str, what: str, as_json: bool) -> int:
    state = _state(ctx, as_json)
    result = state.client().call("POST", f"/v1/journeys/{journey_id}/{what}", expect=(200, 201, 202))
    emit(state, result, lambda: _print_journey(result))
    return _exit_code(result)


@journey.command("approve")
@click.argument("journey_id")
@json_option
@click.pass_context
def journey_approve(ctx: click.Context, journey_id: str, as_json: bool) -> int:
    """Approve the save of a journey that waits for it."""
    return _user_step(ctx, journey_id, "approve", as_json)


@journey.command("cancel")
@click.argument("journey_id")
@json_option
@click.pass_context
def journey_cancel(ctx: click.Context, journey_id: str, as_json: bool) -> int:
    """Cancel a journey: what it derived is discarded; a saved record is kept."""
    return _user_step(ctx, journey_id, "cancel", as_json)


@journey.command("ls")
@click.option("--pending", "pending_only", is_flag=True, help="Only journeys waiting for an approval.")
@click.option("--status", type=click.Choice(("running", "awaiting_approval", *FINISHED)), default=None)
@json_option
@click.pass_context
def journey_ls(ctx: click.Context, pending_only: bool, status: str | None, as_json: bool) -> int:
    """List your tenant's journeys, newest first; --pending shows the approvals waiting for you."""
    state = _state(ctx, as_json)
    params = {"status": "awaiting_approval" if pending_only else status} if (pending_only or status) else None
    journeys = state.client().call("GET", "/v1/journeys", expect=(200,), params=params).get("journeys", [])

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("journey_id", "status", "file", "profile", "save", "updated_at"):
            table.add_column(column)
        for j in journeys:
            table.add_row(j.get("journey_id", ""), j.get("status", ""), str(j.get("file_id") or j.get("upload_id") or ""),
                          str(j.get("ingestion_profile") or ""), str(j.get("save") or ""), str(j.get("updated_at", ""))[:19])
        out.print(table)

    emit(state, {"journeys": journeys}, human)
    return 0


@cli.group()
def dlq() -> None:
    """Dead letters (operators: the token needs the "operator" role): list them, replay them after the fix."""


@dlq.command("ls")
@click.option("--since", default=None, help="Only letters published since: ISO 8601, or a span back (30m, 6h, 2d).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@click.pass_context
def dlq_ls(ctx: click.Context, since: str | None, limit: int, as_json: bool) -> int:
    """List your tenant's dead-lettered events, oldest first (looking takes nothing away)."""
    state = _state(ctx, as_json)
    params: dict[str, Any] = {"limit": limit, **({"since": since} if since else {})}
    body = state.client().call("GET", "/v1/operations/dead-letters", expect=(200,), params=params)

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("published_at", "event_type", "event_id", "attempts", "about"):
            table.add_column(column)
        for letter in body.get("dead_letters", []):
            about = " ".join(f"{k}={v}" for k, v in (letter.get("subject") or {}).items())
            table.add_row(str(letter.get("published_at", ""))[:19], str(letter.get("event_type") or ""),
                          str(letter.get("event_id") or ""), str(letter.get("delivery_attempts", "")), about)
        out.print(table)
        out.print(f"{body.get('count', 0)} dead letter(s)")

    emit(state, body, human)
    return 0


@dlq.command("replay")
@click.option("--since", required=True, help="Replay letters published since: ISO 8601, or a span back (30m, 6h, 2d).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@click.pass_context
def dlq_replay(ctx: click.Context, since: str, limit: int, as_json: bool) -> int:
    """Publish your tenant's dead letters again (same event ids: what was handled already is skipped)."""
    state = _state(ctx, as_json)
    body = state.client().call("POST", "/v1/operations/dead-letters/replay", expect=(200,),
                               json={"since": since, "limit": limit})
    emit(state, body, lambda: out.print(f"replayed {body.get('count', 0)} dead letter(s) published since "
                                        f"{body.get('since')} (execution {body.get('execution_id')})"))
    return 0
