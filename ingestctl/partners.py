"""`ingestctl partners ...` (trading partners and our AS2 identity) and `ingestctl acks` (the acknowledgements sent
back to partners: TA1, 997/999, CONTRL). An acknowledgement's EDI text is its artifact: `ingestctl get ID --download`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ingestctl.cli import _state, cli, emit, json_option, out
from ingestctl.client import CliError


@cli.group()
def partners() -> None:
    """Trading partners: their interchange ids, standard, acknowledgements and AS2 identity."""


@partners.command("ls")
@json_option
@click.pass_context
def partners_ls(ctx: click.Context, as_json: bool) -> int:
    """List your tenant's trading partners."""
    state = _state(ctx, as_json)
    body = state.client().call("GET", "/v1/partners", expect=(200,))

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("partner_id", "name", "standard", "interchange ids", "acks", "as2"):
            table.add_column(column)
        for p in body.get("partners", []):
            ids = ", ".join(f"{i['qualifier']}:{i['id']}" for i in p.get("interchange_ids") or [])
            as2 = p.get("as2") or {}
            table.add_row(p["partner_id"], p.get("name", ""), p.get("standard", ""), ids,
                          ",".join(p.get("acknowledgements") or []), str(as2.get("as2_id") or "-"))
        out.print(table)
        out.print(f"{len(body.get('partners', []))} partner(s)")

    emit(state, body, human)
    return 0


@partners.command("show")
@click.argument("partner_id")
@json_option
@click.pass_context
def partners_show(ctx: click.Context, partner_id: str, as_json: bool) -> int:
    """Show one partner."""
    state = _state(ctx, as_json)
    body = state.client().call("GET", f"/v1/partners/{partner_id}", expect=(200,))
    emit(state, body, lambda: out.print_json(json.dumps(body, default=str)))
    return 0


@partners.command("add")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--signing-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The partner's signing certificate (PEM); fills as2.signing_cert_pem.")
@click.option("--encryption-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The partner's encryption certificate (PEM); fills as2.encryption_cert_pem.")
@json_option
@click.pass_context
def partners_add(ctx: click.Context, spec: Path, signing_cert: Path | None, encryption_cert: Path | None,
                 as_json: bool) -> int:
    """Register (or replace) a partner from a JSON file: {partner_id, name, standard, interchange_ids, ...}."""
    state = _state(ctx, as_json)
    try:
        body = json.loads(spec.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{spec} is not a JSON partner description: {exc}") from None
    if not isinstance(body, dict):
        raise CliError(f"{spec} must hold one JSON object")
    for key, path in (("signing_cert_pem", signing_cert), ("encryption_cert_pem", encryption_cert)):
        if path is not None:
            body.setdefault("as2", {})[key] = path.read_text()
    created = state.client().call("POST", "/v1/partners", expect=(201,), json=body)
    emit(state, created, lambda: out.print(f"partner {created.get('partner_id')} registered "
                                           f"(execution {created.get('execution_id')})"))
    return 0


@partners.command("rm")
@click.argument("partner_id")
@json_option
@click.pass_context
def partners_rm(ctx: click.Context, partner_id: str, as_json: bool) -> int:
    """Remove a partner (its acknowledgements stay)."""
    state = _state(ctx, as_json)
    body = state.client().call("DELETE", f"/v1/partners/{partner_id}", expect=(200,))
    emit(state, body, lambda: out.print(f"partner {partner_id} removed"))
    return 0


@partners.command("identity")
@click.option("--cert-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write our certificate (PEM) here, to hand to the partner.")
@json_option
@click.pass_context
def partners_identity(ctx: click.Context, cert_out: Path | None, as_json: bool) -> int:
    """Our AS2 identity for your tenant: the AS2 id and URL partners send to, and our certificate."""
    state = _state(ctx, as_json)
    body = state.client().call("GET", "/v1/as2/identity", expect=(200,))
    if cert_out is not None:
        cert_out.write_text(body["signing_cert_pem"])

    def human() -> None:
        out.print(f"AS2 id  {body.get('as2_id')}")
        out.print(f"URL     {body.get('url') or '(not configured)'}")
        out.print(f"wrote our certificate to {cert_out}" if cert_out else "certificate: use --cert-out FILE")

    emit(state, body, human)
    return 0


@cli.command()
@click.option("--partner", "partner_id", default=None, help="Only this partner's.")
@click.option("--control", default=None, help="Only those of this interchange control number.")
@click.option("--artifact", "artifact_id", default=None, help="Only those of this interchange artifact.")
@json_option
@click.pass_context
def acks(ctx: click.Context, partner_id: str | None, control: str | None, artifact_id: str | None,
         as_json: bool) -> int:
    """Acknowledgements sent to partners (TA1, 997/999, CONTRL) with their status and delivery."""
    state = _state(ctx, as_json)
    params: dict[str, Any] = {k: v for k, v in (("partner_id", partner_id), ("interchange_control_number", control),
                                                ("artifact_id", artifact_id)) if v}
    body = state.client().call("GET", "/v1/acknowledgements", expect=(200,), params=params)

    def human() -> None:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("created_at", "partner", "kind", "control", "status", "delivery", "artifact_id"):
            table.add_column(column)
        for a in body.get("acknowledgements", []):
            status = a.get("status", "") + (" (duplicate)" if a.get("duplicate") else "")
            table.add_row(str(a.get("created_at", ""))[:19], a.get("partner_id", ""), a.get("kind", ""),
                          a.get("interchange_control_number", ""), status, a.get("delivery", ""),
                          a.get("artifact_id", ""))
        out.print(table)
        out.print(f"{len(body.get('acknowledgements', []))} acknowledgement(s)")

    emit(state, body, human)
    return 0
