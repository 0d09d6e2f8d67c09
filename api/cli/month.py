"""`dangphi month …`: open a month (assess every member) and close it (allocate the shares)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import dong, say

app = typer.Typer(help="Sổ tháng / Monthly rolls.", no_args_is_help=True)

PeriodOpt = Annotated[str, typer.Option("--period", help="Tháng / Month (YYYY-MM).")]


@app.command("open")
def open_month(
    ctx: typer.Context,
    period: PeriodOpt,
    org: Annotated[
        str | None, typer.Option("--org", help="Cả cây dưới mã này / The subtree of this code.")
    ] = None,
) -> None:
    """Mở sổ tháng, tính đảng phí phải nộp / Open a month: assess every member."""
    month = inputs.period(period)
    r = ledger(ctx).open_month(month, org)
    console = out(ctx)
    say(
        console,
        f"Đã mở sổ tháng {month}: {r.branches} chi bộ, {r.members} đảng viên, phải thu {dong(r.amount)}",
        f"Opened {month}: {r.branches} branches, {r.members} members, assessed {dong(r.amount)}",
    )
    if r.skipped:
        names = ", ".join(r.skipped)
        say(console, f"Đã mở từ trước: {names}", f"Already open: {names}")


@app.command("close")
def close_month(
    ctx: typer.Context,
    period: PeriodOpt,
    org: Annotated[
        str, typer.Option("--org", help="Cả cây dưới mã này / The subtree of this code.")
    ],
) -> None:
    """Khoá sổ tháng, trích giữ lại và phải nộp cấp trên / Close a month and allocate."""
    month = inputs.period(period)
    r = ledger(ctx).close_month(month, org)
    console = out(ctx)
    say(
        console,
        f"Đã khoá sổ tháng {month}: {r.branches} chi bộ, đã thu {dong(r.amount)}",
        f"Closed {month}: {r.branches} branches, collected {dong(r.amount)}",
    )
    if r.skipped:
        names = ", ".join(r.skipped)
        say(console, f"Đã khoá từ trước: {names}", f"Already closed: {names}")
