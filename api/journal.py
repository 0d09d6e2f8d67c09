"""The ledger's postings as a plain-text accounting journal that `hledger` reads.

Rule: one transaction per stored event that carries postings, in the order the
events were recorded, written as it is read (only a small index of the
aggregates seen so far is kept). Amounts are whole đồng in the commodity `VND`,
debit positive, credit negative. The transaction's date is, in this order: a
date the event carries (`value_date`, `received_on`, `remitted_on`, `spent_on`,
`on`, `received_at`), the value date of the bank line it belongs to, the first
day of the month it belongs to (its own `period` or its roll's / remittance's),
else the day it was recorded in Vietnam. The month it belongs to is that
`period`, else the month of its date; `--from`/`--to` select on it. With an
organisation, only its subtree's postings (in the shape the tree had that
month) are kept, and a kept event that no longer balances gets one posting to
`ORG:equity:outside`. docs/journal.md has the format and how to check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO
from uuid import UUID

from ledger.app import DuesLedger
from ledger.clock import VIETNAM
from ledger.errors import InvalidInput
from ledger.period import Period, first_day, parse_period

COMMODITY = "VND"
OUTSIDE = "equity:outside"
DATE_FIELDS = ("value_date", "received_on", "remitted_on", "spent_on", "on", "received_at")
# What names an aggregate in a description, read from its first event.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "Roll": ("branch_code", "period"),
    "Remittance": ("org_code", "period"),
    "Payment": ("reference", "member_code"),
    "Organisation": ("code",),
    "PaymentRequest": ("code",),
    "BankTransaction": ("account_number", "external_id"),
    "Register": ("branch_code",),
    "SuspenseQueue": ("org_code",),
    "AccountIndex": ("number",),
}
DETAIL_FIELDS = ("item_id", "code", "reference", "side", "how")
ACCOUNT_TYPES = {"assets": "A", "liabilities": "L", "equity": "E", "income": "R", "expenses": "X"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass
class JournalStats:
    events: int = 0  # events read from the log
    transactions: int = 0  # written
    postings: int = 0  # written, the balancing ones included
    balancing: int = 0  # postings added to ORG:equity:outside
    accounts: int = 0  # distinct accounts declared


@dataclass(frozen=True)
class _Seen:
    """What an aggregate's first event said: its name, its month, its bank line's date."""

    key: str
    period: str | None
    day: str | None


@dataclass
class _Subtree:
    """Codes of `org` and every organisation under it, per month (the tree changes)."""

    ledger: DuesLedger
    org: str
    cache: dict[Period, frozenset[str]] = field(default_factory=dict)

    def codes(self, period: Period) -> frozenset[str]:
        if period not in self.cache:
            self.cache[period] = frozenset(o.code for o in self.ledger.subtree(period, self.org))
        return self.cache[period]


def write_journal(
    ledger: DuesLedger,
    out: TextIO,
    org: str | None = None,
    from_period: Period | None = None,
    to_period: Period | None = None,
) -> JournalStats:
    """Write the journal to `out`; everything is checked before the first line is written."""
    first = parse_period(from_period, field="from") if from_period else None
    last = parse_period(to_period, field="to") if to_period else None
    if first and last and first > last:
        raise InvalidInput(
            f"--from {first} sau --to {last}", f"--from {first} is after --to {last}", field="from"
        )
    subtree = None
    if org is not None:
        ledger.get_org(org)  # an unknown code is refused (bilingual), not exported as empty
        subtree = _Subtree(ledger, org)
    stats = JournalStats()
    out.write(_header(org, first, last))
    seen: dict[UUID, _Seen] = {}
    declared: set[str] = set()
    for event in ledger.iter_events():
        stats.events += 1
        aggregate, _, kind = type(event).__qualname__.partition(".")
        if event.originator_version == 1 and aggregate in KEY_FIELDS:
            seen[event.originator_id] = _first_seen(event, KEY_FIELDS[aggregate])
        postings = getattr(event, "postings", None)
        if not postings:
            continue
        info = seen.get(event.originator_id, _Seen("", None, None))
        day = _effective_day(event, info)
        period = getattr(event, "period", None) or info.period or day[:7]
        if (first and period < first) or (last and period > last):
            continue
        lines = [(str(a), int(n) if s == "D" else -int(n)) for a, s, n in postings]
        if subtree is not None:
            lines = _kept(lines, subtree.codes(period), f"{subtree.org}:{OUTSIDE}", stats)
        if not lines:
            continue
        for account, _amount in lines:
            if account not in declared:
                declared.add(account)
                out.write(f"account {account}  ; type: {_account_type(account)}\n")
        title = " ".join(x for x in (f"{aggregate}.{kind}", info.key, _detail(event, info)) if x)
        recorded = _recorded(event).isoformat(timespec="seconds")
        out.write(
            f"{day} {_clean(title)}  ; event: {event.originator_id}@v{event.originator_version}"
            f", recorded: {recorded}\n"
        )
        out.writelines(f"    {account}  {COMMODITY} {amount}\n" for account, amount in lines)
        out.write("\n")
        stats.transactions += 1
        stats.postings += len(lines)
    stats.accounts = len(declared)
    return stats


def _header(org: str | None, first: Period | None, last: Period | None) -> str:
    scope = f"; tổ chức / organisation: {org} và cấp dưới / and under it\n" if org else ""
    if first or last:
        scope += f"; tháng / months: {first or '…'} .. {last or '…'}\n"
    return (
        "; dangphi: bút toán của sổ đảng phí / the dues ledger's postings (docs/journal.md)\n"
        f"{scope}"
        f"commodity {COMMODITY} 1,000.\n\n"
    )


def _first_seen(event: Any, fields: tuple[str, ...]) -> _Seen:
    key = " ".join(str(v) for f in fields if (v := getattr(event, f, None)))
    value_date = getattr(event, "value_date", None)
    return _Seen(key, getattr(event, "period", None), _day(value_date))


def _effective_day(event: Any, info: _Seen) -> str:
    for name in DATE_FIELDS:
        day = _day(getattr(event, name, None))
        if day:
            return day
    if info.day:
        return info.day
    period = getattr(event, "period", None) or info.period
    if period:
        return first_day(period).isoformat()
    return _recorded(event).date().isoformat()


def _recorded(event: Any) -> datetime:
    """When the event was stored, in Vietnam time."""
    stamp: datetime = event.timestamp
    return stamp.astimezone(VIETNAM)


def _day(value: object) -> str | None:
    """`YYYY-MM-DD` from a date or an ISO text that starts with one, if it is a real date."""
    text = value.isoformat() if isinstance(value, date) else str(value or "")
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


def _detail(event: Any, info: _Seen) -> str:
    parts = [str(v) for f in DETAIL_FIELDS if isinstance(v := getattr(event, f, None), str)]
    payments = getattr(event, "payments", None)  # a statement chunk's, on a roll
    if isinstance(payments, list):
        parts += [str(p[0]) for p in payments if isinstance(p, list) and p]
    return " ".join(p for p in parts if p not in info.key.split())


def _kept(
    lines: list[tuple[str, int]], codes: frozenset[str], outside: str, stats: JournalStats
) -> list[tuple[str, int]]:
    """The lines of organisations in `codes`; if they no longer balance, one more line to
    `outside` for the money that crossed the subtree's boundary."""
    kept = [(a, n) for a, n in lines if a.split(":", 1)[0] in codes]
    total = sum(n for _, n in kept)
    if kept and total:
        kept.append((outside, -total))
        stats.balancing += 1
    return kept


def _account_type(account: str) -> str:
    parts = account.split(":")
    kind = parts[1] if len(parts) > 1 else ""
    if kind == "assets" and len(parts) > 2 and parts[2] in ("bank", "cash"):
        return "C"
    return ACCOUNT_TYPES.get(kind, "A")


def _clean(text: str) -> str:
    """A description on one line, with nothing hledger would read as a comment."""
    return " ".join(text.replace(";", ",").split())
