"""`dangphi audit …`: prove the event log was not altered outside the application.

Rule: `verify` exits 0 only when every stored event matches the hash chain (and
every given seal, and every snapshot matches its events); 3 when anything was
changed, deleted, inserted or reordered, naming the first bad event; 4 when the
log has events but no chain yet (nothing proven). `seal` exports the chain's
head for an auditor to keep. The chain is described in docs/audit.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.audit import Report, make_seal, masked_url, read_seal, verify
from api.audit_verdict import verdict
from api.cli.context import ledger, out, state
from api.cli.render import error, print_json, say
from api.settings import resolve_url

EXIT_TAMPERED = 3
EXIT_UNCHAINED = 4

app = typer.Typer(help="Kiểm toán sổ / Audit the event log.", no_args_is_help=True)


@app.command("verify")
def verify_log(
    ctx: typer.Context,
    seal: Annotated[
        list[Path] | None,
        typer.Option("--seal", help="Tệp niêm phong phải còn khớp / A seal file to check."),
    ] = None,
    no_snapshots: Annotated[
        bool, typer.Option("--no-snapshots", help="Bỏ qua ảnh chụp / Skip snapshot checks.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Kiểm tra chuỗi băm của sổ / Recompute the hash chain and name the first bad event."""
    seals = [read_seal(p) for p in seal or []]
    report = verify(ledger(ctx), seals, snapshots=not no_snapshots)
    if as_json:
        print_json(report.as_dict())
    raise typer.Exit(_conclude(ctx, report, quiet=as_json))


@app.command("seal")
def seal_log(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Ghi ra tệp / Write to this file.")
    ] = None,
) -> None:
    """Niêm phong đầu chuỗi băm / Export a seal of the chain's head (after verifying it)."""
    app_ = ledger(ctx)
    report = verify(app_)
    if not report.sound:
        raise typer.Exit(_conclude(ctx, report, quiet=False))
    sealed = make_seal(report, masked_url(resolve_url(state(ctx).db)), app_.clock)
    text = json.dumps(sealed, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    say(
        out(ctx),
        f"Đã niêm phong {report.events} sự kiện (đến số {report.head_id}) vào {output}",
        f"Sealed {report.events} events (up to {report.head_id}) in {output}",
    )


def _conclude(ctx: typer.Context, report: Report, *, quiet: bool) -> int:
    """Print the verdict (the finding on stderr) and return the exit status."""
    found = verdict(report)
    if found.status == "tampered":
        error(found.vi, found.en)
        return EXIT_TAMPERED
    if found.status == "unchained":
        error(found.vi, found.en)
        return EXIT_UNCHAINED
    if not quiet:
        say(out(ctx), found.vi, found.en)
    return 0
