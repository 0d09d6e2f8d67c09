"""`dangphi journal export`: the postings as a journal that `hledger` reads.

Rule: every option is checked (format, months, organisation) before a line is
written. To a file (`-o`) the journal is written beside it first and moved in
place only when complete, so a failed export never leaves half a journal; a
summary is printed then. To stdout only the journal is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import say
from api.journal import write_journal
from ledger.errors import InvalidInput

FORMATS = ("ledger",)

app = typer.Typer(help="Sổ nhật ký kế toán / Accounting journal.", no_args_is_help=True)


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="ledger (hledger, Ledger).")],
    org: Annotated[
        str | None, typer.Option("--org", help="Chỉ cây dưới mã này / Only this subtree.")
    ] = None,
    from_period: Annotated[
        str | None, typer.Option("--from", help="Từ tháng / From month (YYYY-MM).")
    ] = None,
    to_period: Annotated[
        str | None, typer.Option("--to", help="Đến tháng / To month (YYYY-MM).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Tệp ghi ra / Output file.")
    ] = None,
) -> None:
    """Xuất bút toán ra sổ nhật ký / Export the postings as a plain-text journal."""
    inputs.choice(fmt, FORMATS, "format")
    first = inputs.optional_period(from_period, "from")
    last = inputs.optional_period(to_period, "to")
    app_ = ledger(ctx)
    if output is None:
        write_journal(app_, sys.stdout, org, first, last)
        return
    part = output.with_name(output.name + ".part")
    try:
        with _opened(part) as f:
            stats = write_journal(app_, f, org, first, last)
        _move(part, output)
    finally:
        part.unlink(missing_ok=True)
    say(
        out(ctx),
        f"Đã ghi {stats.transactions} giao dịch, {stats.postings} bút toán, "
        f"{stats.accounts} tài khoản vào {output}",
        f"Wrote {stats.transactions} transactions, {stats.postings} postings, "
        f"{stats.accounts} accounts to {output}",
    )
    if stats.balancing:
        say(
            out(ctx),
            f"{stats.balancing} giao dịch có tiền qua ranh giới tổ chức (tài khoản {org}:equity:outside)",
            f"{stats.balancing} transactions moved money across the subtree's boundary ({org}:equity:outside)",
        )


@contextmanager
def _opened(path: Path) -> Iterator[TextIO]:
    try:
        f = path.open("w", encoding="utf-8", newline="\n")
    except OSError as e:
        raise _cannot_write(path, e) from None
    with f:
        yield f


def _move(part: Path, output: Path) -> None:
    try:
        os.replace(part, output)
    except OSError as e:
        raise _cannot_write(output, e) from None


def _cannot_write(path: Path, e: OSError) -> InvalidInput:
    return InvalidInput(
        f"Không ghi được tệp {path} ({e.strerror})",
        f"Cannot write the file {path} ({e.strerror})",
        field="output",
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="journal")
