"""Parsing what a person types or hands over: months, amounts, choices, CSV files.

Rule: every value is checked before the ledger is asked to do anything, and a
bad value raises `InvalidInput` naming the option, in Vietnamese and English.
CSV files are read whole; each row keeps the line number it has in the file
(the header is line 1) so the ledger can report every bad line at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from api.csv_ops import Rows, file_error, parse_csv
from ledger.errors import InvalidInput
from ledger.money import parse_amount
from ledger.period import Period, parse_period

# Whole đồng, optionally grouped by thousands with "," or "." (one kind per number).
_WHOLE_DONG = re.compile(r"^\s*(\d+|\d{1,3}(,\d{3})+|\d{1,3}(\.\d{3})+)\s*$")


def period(text: str, option: str = "period") -> Period:
    return parse_period(text, field=option)


def optional_period(text: str | None, option: str = "period") -> Period | None:
    return None if text is None else period(text, option)


def periods(text: str, option: str = "months") -> list[Period]:
    return [period(p, option) for p in text.split(",") if p.strip()] or [period(text, option)]


def amount(text: str, option: str = "amount") -> int:
    value = parse_amount(text, field=option)  # refuses negative, zero and non-numbers
    if not _WHOLE_DONG.match(text):
        # parse_amount drops "." and "," wherever they are, so "12.5" would become 125.
        raise InvalidInput(
            f"{option}: '{text}' không phải số đồng nguyên",
            f"{option}: '{text}' is not a whole number of đồng",
            field=option,
        )
    return value


def shares(texts: list[str], option: str = "split") -> list[tuple[str, int]]:
    """`CODE=AMOUNT` each (`M2=10,000`): who gets how much of a split."""
    out = []
    for text in texts:
        code, sep, value = text.partition("=")
        if not sep or not code.strip():
            raise InvalidInput(
                f"{option}: '{text}' phải có dạng MÃ=SỐ_TIỀN (ví dụ M2=10000)",
                f"{option}: '{text}' must be CODE=AMOUNT (e.g. M2=10000)",
                field=option,
            )
        out.append((code.strip(), amount(value.strip(), option)))
    return out


def choice(text: str, allowed: tuple[str, ...], option: str) -> str:
    if text not in allowed:
        raise InvalidInput(
            f"{option}: '{text}' không hợp lệ (chọn: {', '.join(allowed)})",
            f"{option}: '{text}' is not one of {', '.join(allowed)}",
            field=option,
        )
    return text


def whole_number(text: str, option: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput(
            f"{option}: '{text}' không phải số nguyên",
            f"{option}: '{text}' is not a whole number",
            field=option,
        )
    return int(text)


def text(value: str, option: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{option}: không được để trống", f"{option}: must not be empty")
    return value.strip()


def read_csv(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Rows:
    """Rows as (line number in the file, {column: value}); refuses a file missing columns."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError:
        raise _file_error(path, "không tồn tại", "does not exist") from None
    except UnicodeDecodeError:
        raise _file_error(path, "không phải văn bản UTF-8", "is not UTF-8 text") from None
    except OSError as e:
        raise _file_error(
            path, f"không đọc được ({e.strerror})", f"cannot be read ({e.strerror})"
        ) from None
    return parse_csv(text, required, optional, label=str(path), name=path.name)


def _file_error(path: Path, vi: str, en: str) -> InvalidInput:
    return file_error(str(path), vi, en)


# Point in time, for the commands that read the read models (docs/read-models.md).
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Hiệu lực đến ngày / Effective by this date (YYYY-MM-DD): months up to it.",
    ),
]
KnownAtOpt = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        metavar="TIMESTAMP",
        help="Như sổ biết tại thời điểm / As recorded by this time (ISO 8601).",
    ),
]


# -- output files ------------------------------------------------------------------------------
def check_output(output: Path) -> None:
    """Refuse, before the ledger is opened, an output path that cannot be a new file."""
    if output.is_dir():
        raise cannot_write(output, "là thư mục / is a folder")
    if not output.parent.is_dir():
        raise cannot_write(output, "thư mục không tồn tại / the folder does not exist")


def cannot_write(output: Path, why: str) -> InvalidInput:
    vi, _, en = why.partition(" / ")
    return InvalidInput(
        f"output: không ghi được {output} ({vi})",
        f"output: cannot write {output} ({en or vi})",
        field="output",
    )
