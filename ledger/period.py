"""Periods: a dues month written `YYYY-MM`.

Rule: periods travel as validated `YYYY-MM` strings (they sort correctly as
text and serialise as themselves); arithmetic goes through these helpers.
"""

from __future__ import annotations

import re
from datetime import date

from ledger.errors import InvalidInput

Period = str

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str, *, field: str = "period") -> Period:
    """Validate `YYYY-MM`; raise InvalidInput naming the field otherwise."""
    value = (text or "").strip()
    m = _PERIOD.match(value)
    if not m or not 1900 <= int(m.group(1)) <= 2999:
        raise InvalidInput(
            f"{field}: '{text}' không phải tháng dạng YYYY-MM",
            f"{field}: '{text}' is not a month in YYYY-MM form",
            field=field,
        )
    return value


def period_of(day: date) -> Period:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(period: Period, n: int) -> Period:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + (month - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last` inclusive (empty if last < first)."""
    out: list[Period] = []
    current = first
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def first_day(period: Period) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def quarter_of(period: Period) -> str:
    return f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"
