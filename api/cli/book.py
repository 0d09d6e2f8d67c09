"""`book`: the dues book (sổ thu, nộp đảng phí, S01/ĐP) of an organisation, as CSV or XLSX.

Rule: the period, the format and the output folder are checked before the
ledger is opened; the file is written whole or not at all (api/book.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.book import parse_book_period, period_title, write_csv, write_xlsx
from api.cli import inputs
from api.cli.context import out, reads
from api.cli.render import dong, say
from projections.dues_book import dues_book

WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


def book(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    period: Annotated[
        str,
        typer.Option("--period", help="YYYY-MM, YYYY-Qn (quý / quarter) hoặc / or YYYY."),
    ],
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tệp ghi ra / File to write.")],
) -> None:
    """Xuất sổ thu, nộp đảng phí / Export the dues book (form S01/ĐP)."""
    label, periods = parse_book_period(period)
    kind = inputs.choice(fmt, tuple(WRITERS), "format")
    code = inputs.text(org, "org")
    inputs.check_output(output)
    dues = dues_book(reads(ctx), code, label, periods)
    try:
        WRITERS[kind](dues, output)
    except OSError as e:
        raise inputs.cannot_write(output, e.strerror or str(e)) from None
    collected = sum(r.collected for r in dues.part2)
    say(
        out(ctx),
        f"Đã ghi sổ đảng phí {period_title(label)} của {code} vào {output}: "
        f"{len(dues.part1)} dòng đảng viên, đã thu {dong(collected)}",
        f"Wrote the dues book of {code} for {label} to {output}: "
        f"{len(dues.part1)} member rows, {dong(collected)} collected",
    )


def register(app: typer.Typer) -> None:
    app.command("book")(book)
