"""What the CLI and the HTTP API share for a treasurer's files: statement imports, the dues book.

Rule: a statement is imported by one function (`import_statement_file`) whether it
came from a path (`dangphi statement import`) or an upload (`POST …/statements`,
written to a private temporary folder first, under the name it was sent with so
errors name it); the dues book is laid out by `api.book` for both, and an upload or
download never leaves a file behind.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.book import parse_book_period, write_csv, write_xlsx
from ledger.app import DuesLedger
from ledger.clock import today
from ledger.services.matching import EARLIEST_VALUE_DATE, FUTURE_GRACE_DAYS
from payment_gateways.statements import read_statement
from projections.dues_book import dues_book
from projections.reads import Reads

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOOK_FORMATS = {"csv": (write_csv, "text/csv; charset=utf-8"), "xlsx": (write_xlsx, XLSX)}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def import_statement_file(
    app: DuesLedger,
    org: str,
    path: Path,
    *,
    account: str | None = None,
    layout: str | None = None,
) -> dict[str, Any]:
    """Read the statement (all or nothing), record each line once; counts and what was read."""
    target = app.statement_account(org, account)
    latest = today(app.clock) + timedelta(days=FUTURE_GRACE_DAYS)  # as the ledger checks
    statement = read_statement(
        path,
        bin_code=target["bin"],
        account_number=target["account_number"],
        layout=layout,
        not_after=latest,
        not_before=EARLIEST_VALUE_DATE,
    )
    counts = app.import_statement(
        org,
        list(statement.facts),
        opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance,
    )
    return {
        **counts,
        "lines": len(statement.facts),
        "layout": statement.layout,
        "account": target["account_number"],
        "closing_balance": statement.closing_balance,
    }


def upload_name(filename: str | None, suffix: str) -> str:
    """A safe file name for an upload: its own base name if it has one, with `suffix`."""
    stem = _SAFE_NAME.sub("_", Path(filename or "").stem).strip("._") or "statement"
    return f"{stem[:60]}{suffix}"


def import_statement_bytes(
    app: DuesLedger,
    org: str,
    data: bytes,
    *,
    filename: str,
    account: str | None = None,
    layout: str | None = None,
) -> dict[str, Any]:
    """`import_statement_file` for an uploaded file (`filename` ends in .csv or .xlsx)."""
    with tempfile.TemporaryDirectory(prefix="dangphi-statement-") as folder:
        path = Path(folder) / filename
        path.write_bytes(data)
        return import_statement_file(app, org, path, account=account, layout=layout)


@dataclass(frozen=True)
class BookFile:
    content: bytes
    filename: str
    media_type: str
    label: str


def book_file(reads: Reads, org: str, period: str, fmt: str) -> BookFile:
    """The dues book of `org` for `period` (YYYY-MM, YYYY-Qn or YYYY) as CSV or XLSX bytes."""
    label, periods = parse_book_period(period)
    write, media_type = BOOK_FORMATS[fmt]
    book = dues_book(reads, org, label, periods)
    filename = f"so-dang-phi-{org}-{label}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="dangphi-book-") as folder:
        path = Path(folder) / filename
        write(book, path)
        return BookFile(path.read_bytes(), filename, media_type, label)
