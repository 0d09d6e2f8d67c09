"""Design check for `BankDay`: what saving a statement's member lines costs as events
per line (today) against one event per account, value date and chunk.

    .venv/bin/python -m bench.bankday_save [--lines N] [--days D] [--chunk C] [--db URL]

`docs/reconciliation.md` ("Towards 20,000 lines a second") argues that the
import cannot reach 20,000 lines a second while each line writes events of
its own, and that `BankDay` (the lines of a chunk in one event per account
and day) would bring the writes within budget. `BankDay` is not built; this
measures the write side of that claim, not the import.

Both ways make and save the same N member lines (default 200,000, over D value
dates, default 30) with the application's own recorder (its transcoder, the
audit hash chain, COPY), C lines a save (default 40,000, the import's chunk),
each way in its own fresh PostgreSQL schema:

    per line   what a member line writes today: its `BankTransaction.Recorded`
               holding the line and its match (`record` + `match_new`), and its
               `Payment.Received` (made with `create_new`, as the import does);
    per day    one `LinesRecorded` event per value date and chunk on a stand-in
               aggregate, each line in it a dict holding the same fields: the
               line, its match and its payment;
    rows       the same, each line a list of values in a fixed column order,
               with what every line of the import shares (account, source,
               collector, ...) once per event: the same information, no
               repeated keys.

Only making the events and saving them is timed, not matching or reading,
with the cyclic collector paused as the import pauses it. Then, apart, two
steps any design pays per line: keying it (`fact_id`) and finding the codes
in its narrative (`find_codes`, uncached).
Checks: the stored event counts, and one day's event and one line's events
read back equal to what was written (a mismatch exits non-zero).
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import psycopg
from eventsourcing.domain import Aggregate, event

from api.bootstrap import build_ledger
from api.settings import load_settings
from bench.month_open import conninfo, fail, machine, with_schema
from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id, transaction_id
from ledger.batching import create_new
from ledger.clock import FixedClock
from ledger.ids import NAMESPACE, payment_id
from ledger.loading import gc_paused
from ledger.payment import Payment
from ledger.ports import BankTransactionFact
from ledger.postings import acct, check_balanced, credit, debit
from ledger.reference_code import _codes_in, code_for

DEFAULT_DB = "postgresql://root@127.0.0.1:5432/test"
NOW = datetime.fromisoformat("2026-12-15T10:00:00+07:00")
BIN, ACCOUNT, BRANCH = "970436", "1012345678", "G"
FIRST_DAY = date(2026, 11, 1)


class BenchDay(Aggregate):
    """A stand-in for the designed `BankDay`: an account's lines of one value date."""

    @staticmethod
    def create_id(account_number: str, value_date: str) -> UUID:
        return bench_day_id(value_date)

    @event("Opened")
    def __init__(self, account_number: str, value_date: str) -> None:
        self.account_number = account_number
        self.value_date = value_date
        self.keys: set[str] = set()

    @event("LinesRecorded")
    def record_lines(self, lines: list[dict[str, Any]]) -> None:
        self.keys.update(line["key"] for line in lines)

    @event("RowsRecorded")
    def record_rows(self, common: list[list[Any]], rows: list[list[Any]]) -> None:
        self.keys.update(row[0] for row in rows)


# The compact shape: what is the same for every line of an account's import (the account,
# the source, the collector) once per event as `common`; each line a row of COLUMNS.
COMMON = (
    ("line", "source"),
    ("line", "bin_code"),
    ("line", "account_number"),
    ("line", "direction"),
    ("line", "recorded_at"),
    ("matched", "how"),
    ("payment", "branch_code"),
    ("payment", "channel"),
    ("payment", "received_on"),
)
COLUMNS = (
    ("line", "external_id"),
    ("line", "amount"),
    ("line", "value_date"),
    ("line", "narrative"),
    ("line", "counterparty"),
    ("line", "reference"),
    ("line", "balance"),
    ("matched", "target"),
    ("matched", "status_at_receipt"),
    ("matched", "held"),
    ("matched", "refused"),
    ("payment", "reference"),
    ("payment", "member_code"),
    ("payment", "amount"),
    ("payment", "applied"),
    ("payment", "to_credit"),
    ("payment", "postings"),
)


def to_row(item: dict[str, Any]) -> list[Any]:
    return [item["key"], *(item[group][name] for group, name in COLUMNS)]


def from_row(row: list[Any], common: list[list[Any]]) -> dict[str, Any]:
    item: dict[str, Any] = {"key": row[0], "line": {}, "matched": {}, "payment": {}}
    for (group, name), value in zip(COLUMNS, row[1:], strict=True):
        item[group][name] = value
    for group, name, value in common:
        item[group][name] = value
    return item


def bench_day_id(value_date: str) -> UUID:
    return uuid5(NAMESPACE, f"bench-bankday/{ACCOUNT}/{value_date}")


def make_lines(n: int, days: int) -> list[dict[str, Any]]:
    """N member lines as the import holds them once matched: the line, its match, its
    payment (one month's dues, paid to the collecting organisation's bank account)."""
    out = []
    codes = [code_for(f"bench-request-{r}") for r in range(6000)]  # valid request codes
    for i in range(n):
        day = (FIRST_DAY + timedelta(days=i % days)).isoformat()
        member, code, ref = f"M{i % 8000:06d}", codes[i % 6000], f"FT26{i:010d}"
        amount = 50_000 + (i % 200) * 500
        pay_ref = f"{code}:{ref}:{member}"
        bank = acct(BRANCH, "assets", "bank", ACCOUNT)
        out.append(
            {
                "key": ref,
                "line": {
                    "source": "statement:vcb",
                    "external_id": ref,
                    "bin_code": BIN,
                    "account_number": ACCOUNT,
                    "direction": "in",
                    "amount": amount,
                    "value_date": day,
                    "narrative": f"MBVCB.{ref[4:]}.{code} dang phi.CT tu 0351000646393 "
                    f"NGUYEN VAN A toi {ACCOUNT}",
                    "counterparty": "NGUYEN VAN A",
                    "reference": ref,
                    "recorded_at": NOW.isoformat(),
                    "balance": None,
                },
                "matched": {
                    "how": "request",
                    "target": code,
                    "status_at_receipt": "open",
                    "held": 0,
                    "refused": [],
                },
                "payment": {
                    "reference": pay_ref,
                    "member_code": member,
                    "branch_code": BRANCH,
                    "amount": amount,
                    "channel": "bank",
                    "received_on": NOW.date().isoformat(),
                    "applied": [[f"B{i % 100:03d}", "2026-11", amount]],
                    "to_credit": 0,
                    "postings": check_balanced(
                        [
                            debit(bank, amount),
                            credit(acct(f"B{i % 100:03d}", "assets", "receivable", member), amount),
                        ]
                    ),
                },
            }
        )
    return out


def per_line(app: DuesLedger, lines: list[dict[str, Any]], chunk: int) -> int:
    """Today's shape: two aggregates and two events a member line. Returns events saved."""
    events = 0
    for start in range(0, len(lines), chunk):
        aggregates: list[Aggregate] = []
        for item in lines[start : start + chunk]:
            tx = BankTransaction.record(
                transaction_id("bench", item["key"]),
                **item["line"],
            )
            tx.match_new("request", item["matched"]["target"], _detail(item["matched"]))
            pay = item["payment"]
            payment = create_new(
                Payment,
                Payment.Received,  # type: ignore[attr-defined]
                payment_id(pay["reference"]),
                **pay,
            )
            aggregates += [tx, payment]
        events += len(app.save(*aggregates))
    return events


def per_day(app: DuesLedger, lines: list[dict[str, Any]], chunk: int, rows: bool = False) -> int:
    """The designed shape: one event per value date and chunk, each line a dict (or, with
    `rows`, a row of COLUMNS under the event's COMMON values). Returns events saved."""
    days: dict[str, BenchDay] = {}
    events = 0
    for start in range(0, len(lines), chunk):
        by_day: dict[str, list[dict[str, Any]]] = {}
        for item in lines[start : start + chunk]:
            by_day.setdefault(item["line"]["value_date"], []).append(item)
        for value_date, items in by_day.items():
            day = days.get(value_date)
            if day is None:
                day = BenchDay(account_number=ACCOUNT, value_date=value_date)
                days[value_date] = day
            if rows:
                common = [[g, n, items[0][g][n]] for g, n in COMMON]
                day.record_rows(common, [to_row(item) for item in items])
            else:
                day.record_lines(items)
        events += len(app.save(*days.values()))
    return events


def _detail(matched: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in matched.items() if k not in ("how", "target")}


def floor(lines: list[dict[str, Any]]) -> None:
    """Two steps every design pays per line, whatever it saves: keying the line (`fact_id`)
    and finding the codes in its narrative (uncached, as on a line's first look). Best of
    three passes over all the lines."""
    facts = [
        BankTransactionFact(**{k: v for k, v in item["line"].items() if k != "recorded_at"})
        for item in lines
    ]
    narratives = [f.narrative for f in facts]
    best = {"fact_id": float("inf"), "find_codes": float("inf")}
    with gc_paused():
        for _ in range(3):
            t0 = time.perf_counter()
            for fact in facts:
                fact_id(fact)
            best["fact_id"] = min(best["fact_id"], time.perf_counter() - t0)
            _codes_in.cache_clear()
            t0 = time.perf_counter()
            found = sum(1 for narrative in narratives if _codes_in(narrative))
            best["find_codes"] = min(best["find_codes"], time.perf_counter() - t0)
    _codes_in.cache_clear()
    if found != len(lines):
        fail(f"find_codes found a code in {found:,} of {len(lines):,} narratives")
    print(
        "FLOOR    per line, best of 3: "
        + ", ".join(f"{k} {v / len(lines) * 1e6:.1f} µs" for k, v in best.items())
    )


def timed(label: str, n: int, fn: Any) -> tuple[float, int]:
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    with gc_paused():  # as the import runs
        events = fn()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"{label:<9}{n:,} lines, {events:,} events in {seconds:.2f} s = "
        f"{n / seconds:,.0f} lines/s, {seconds / n * 1e6:.1f} µs a line "
        f"(cpu {cpu:.2f} s; load average {load:.2f} before)"
    )
    return seconds, events


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--chunk", type=int, default=40_000)
    p.add_argument("--db", default=os.environ.get("DANGPHI_BENCH_DB", DEFAULT_DB))
    args = p.parse_args(argv)
    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine  {machine()}")
    print(f"command  {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    lines = make_lines(args.lines, args.days)
    schemas = {way: f"bench_day_{uuid.uuid4().hex[:10]}" for way in ("line", "day", "rows")}
    with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
        for schema in schemas.values():
            conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        apps = {
            way: build_ledger(load_settings(with_schema(args.db, s)), clock=FixedClock(NOW))
            for way, s in schemas.items()
        }
        n = len(lines)
        line_s, line_events = timed(
            "PER LINE", n, lambda: per_line(apps["line"], lines, args.chunk)
        )
        day_s, day_events = timed("PER DAY", n, lambda: per_day(apps["day"], lines, args.chunk))
        rows_s, rows_events = timed(
            "ROWS", n, lambda: per_day(apps["rows"], lines, args.chunk, rows=True)
        )
        check(apps, lines, line_events, day_events, args)
        check_rows(apps["rows"], lines, rows_events, day_events)
        floor(lines)
        print(
            f"RESULT   per day {line_s / day_s:.1f}×, per day as rows {line_s / rows_s:.1f}× "
            "as fast as per line (making and saving only)"
        )
        return 0
    finally:
        with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def check(
    apps: dict[str, DuesLedger],
    lines: list[dict[str, Any]],
    line_events: int,
    day_events: int,
    args: argparse.Namespace,
) -> None:
    n = len(lines)
    if line_events != 2 * n:
        fail(f"per line saved {line_events} events, expected {2 * n}")
    chunks = (n + args.chunk - 1) // args.chunk
    days_per_chunk = sum(
        len({item["line"]["value_date"] for item in lines[s : s + args.chunk]})
        for s in range(0, n, args.chunk)
    )
    opened = len({item["line"]["value_date"] for item in lines})
    if day_events != days_per_chunk + opened:
        fail(f"per day saved {day_events} events, expected {days_per_chunk + opened}")
    first = lines[0]
    tx = apps["line"].repository.get(transaction_id("bench", first["key"]))
    if tx.matched["target"] != first["matched"]["target"] or tx.amount != first["line"]["amount"]:
        fail("per line: the first line read back differs")
    payment = apps["line"].repository.get(payment_id(first["payment"]["reference"]))
    if payment.applied != first["payment"]["applied"]:
        fail("per line: the first payment read back differs")
    day = apps["day"].repository.get(bench_day_id(first["line"]["value_date"]))
    expected = {item["key"] for item in lines if item["line"]["value_date"] == day.value_date}
    if day.keys != expected:
        fail("per day: the first day's keys read back differ")
    stored = list(apps["day"].repository.event_store.get(bench_day_id(first["line"]["value_date"])))
    if stored[1].lines[0] != first:  # type: ignore[attr-defined]
        fail("per day: the first line read back differs")
    print(f"checked  {n:,} lines both ways; {chunks} chunks; events and read-backs as written")


def check_rows(
    app: DuesLedger, lines: list[dict[str, Any]], rows_events: int, day_events: int
) -> None:
    """The rows hold the same lines: the first day's, read back and rebuilt, equal them."""
    if rows_events != day_events:
        fail(f"rows saved {rows_events} events, per day {day_events}")
    value_date = lines[0]["line"]["value_date"]
    stored = list(app.repository.event_store.get(bench_day_id(value_date)))
    rebuilt = [
        from_row(row, e.common)  # type: ignore[attr-defined]
        for e in stored[1:]
        for row in e.rows  # type: ignore[attr-defined]
    ]
    if rebuilt != [item for item in lines if item["line"]["value_date"] == value_date]:
        fail("rows: the first day's lines read back and rebuilt differ")
    print(f"checked  rows: the first day's {len(rebuilt):,} lines rebuilt as written")


if __name__ == "__main__":
    raise SystemExit(main())
