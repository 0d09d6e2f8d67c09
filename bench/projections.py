"""Benchmark: rebuilding every read model for a synthetic province-year, against the naive way.

    .venv/bin/python -m bench.projections [--members N] [--branches B] [--months M]
                                          [--fraction F] [--chunk C] [--naive-sample K]
                                          [--first-period YYYY-MM] [--db URL]
                                          [--keep-schema NAME | --reuse-schema NAME]
                                          [--rebuilds R] [--profile FILE] [--setup-only]

History (setup, timed but not the figure): a province of N members (default 100,000) in
B branches (default 4,000) built with the real API exactly as `bench/month_open.py` does
(its generator and import steps), then for each of M months (default 12, from 2026-01):
`open_month` (checked against an independent assessment of the generated members),
payments by a fraction F of the members (default 1.0; each pays what its line of that
month's roll still owes, `Roll.owed_by`, so no credit arises; a payment goes to the
oldest unpaid month, which the generator follows on its own), built with
`prepare_payment` in a `UnitOfWork` and saved C at a time (default 2,000), then
`close_month` for the province and `remit` (via the portal) for every organisation,
deepest first. The application's clock is set to the 10th of each month.

Timed:
  1. `ReadModels(app, MODELS).rebuild()`: drop every read model and rebuild it from the
     whole event log (the figure: events per second; target 30,000/s);
  2. the naive way on the first K events of the log (default 20,000): one transaction
     per event and model (`process_event` then `flush`, `fresh = False`, so each event
     reads its rows back), into the read-model tables of a second fresh schema;
  3. `Reads.balance` of the provincial committee (one month, all months), of a branch,
     and `Reads.member_statement`: median and p95 of 20 runs after one warm-up
     (target: under 50 ms for the province).

Checks (exit 1 on any mismatch): the province's subtree figures from the read models,
month by month and for the year, equal what the generator computed (assessed from the
generated members, paid, outstanding, members, remitted); for 5 branches and 3
committees the core query `app.balance` (from aggregates) equals `Reads.balance`.

`--keep-schema NAME` builds into that schema and keeps it (with `--setup-only`, and
nothing else); `--reuse-schema NAME` skips the setup and uses it (the generator's figures
are kept in its `bench_expected` table). Otherwise the schema is fresh and dropped at the
end. The setup is slow (about 3 minutes a month at 100,000 members on the 2-core
development machine, most of it in `prepare_payment`, its saves and 4,110 `remit` calls),
so build a history once and reuse it while tuning. Run it as a module
(`-m bench.projections`); run as a file, the repository root replaces bench/ on
sys.path so that this module does not shadow the `projections` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import cProfile
import json
import os
import random
import signal
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore

from api.bootstrap import build_ledger
from api.settings import load_settings
from bench.month_open import (
    conninfo,
    expected_facts,
    fail,
    machine,
    make_province,
    verify,
    with_schema,
)
from ledger.app import DuesLedger
from ledger.clock import VIETNAM, FixedClock
from ledger.ids import member_id, payment_id, register_id, roll_id
from ledger.member import Member
from ledger.payment import Payment
from ledger.period import add_months, parse_period
from ledger.register import Register
from ledger.roll import Roll
from ledger.services.base import UnitOfWork
from projections.base import ReadModels
from projections.reads import MODELS, Reads
from projections.store import views_for

DEFAULT_DB = "postgresql://root@127.0.0.1:5432/test"
ROOT_CODE = "P01"  # the provincial committee of bench.month_open's province
TARGET_RATE = 30_000  # events per second, from the issue
TARGET_MS = 50.0  # balance of the provincial committee, from the issue
SEED = 2026


@dataclass
class Month:
    """What the generator knows of one month, computed without the read models."""

    period: str
    members: int = 0  # roll lines
    assessed: int = 0  # from the generated members (bench.month_open.verify)
    payments: int = 0
    paid: int = 0  # money paid during the month (to whatever months it settled)
    collected: int = 0  # money applied to this month's lines (oldest unpaid first)
    remits: int = 0
    remitted: int = 0  # remitted by the province's organisations (P01 included)


@dataclass
class History:
    members: int
    branches: int
    fraction: float
    months: list[Month] = field(default_factory=list)
    events: int = 0

    def dump(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, text: str) -> History:
        raw = json.loads(text)
        months = [Month(**m) for m in raw.pop("months")]
        return cls(**raw, months=months)


# --- the history ----------------------------------------------------------------------------


def at_10th(period: str) -> datetime:
    return datetime.fromisoformat(f"{period}-10T10:00:00").replace(tzinfo=VIETNAM)


def depth_order(org_rows: list[dict[str, str]]) -> list[str]:
    """Every organisation with a parent, deepest first (so money flows up in one pass)."""
    parent = {r["code"]: r["parent_code"] for r in org_rows}

    def depth(code: str) -> int:
        d = 0
        while parent.get(code):
            code, d = parent[code], d + 1
        return d

    return sorted((c for c in parent if parent[c]), key=lambda c: (-depth(c), c))


def pay_month(
    app: DuesLedger,
    period: str,
    payers: list[tuple[str, str, int]],
    chunk: int,
    unpaid: dict[str, list[list[Any]]],
    collected: dict[str, int],
) -> Month:
    """Payments of `payers` (branch, member, amount), `chunk` per save. The generator
    reckons on its own what each payment settles (oldest unpaid month first) into
    `unpaid` (member -> [period, owed]) and `collected` (period -> amount)."""
    out = Month(period)
    for i in range(0, len(payers), chunk):
        part = payers[i : i + chunk]
        uow = UnitOfWork(app)
        refs = [f"BP-{period}-{code}" for _, code, _ in part]
        uow.load_many([payment_id(r) for r in refs], Payment)  # none yet: one read, not one each
        uow.load_many([member_id(c) for _, c, _ in part], Member)
        uow.load_many(list(dict.fromkeys(register_id(b) for b, _, _ in part)), Register)
        uow.load_many(list(dict.fromkeys(roll_id(b, period) for b, _, _ in part)), Roll)
        for (_, code, amount), ref in zip(part, refs, strict=True):
            result = app.prepare_payment(uow, code, amount, reference=ref, channel="bank")
            if result.to_credit or result.duplicate:
                fail(f"payment {ref}: {result}")
            out.payments += 1
            out.paid += amount
        app.save(*uow.pending())
    for _, code, amount in payers:  # the generator's reckoning, oldest month first
        left = amount
        for item in unpaid[code]:
            take = min(left, item[1])
            item[1] -= take
            collected[item[0]] = collected.get(item[0], 0) + take
            left -= take
        unpaid[code] = [item for item in unpaid[code] if item[1] > 0]
    return out


def build_history(app: DuesLedger, clock: FixedClock, args: argparse.Namespace) -> History:
    first = args.first_period
    province = make_province(args.members, args.branches, first, at_10th(first).date())
    history = History(args.members, args.branches, args.fraction)
    t0 = time.perf_counter()
    app.import_orgs([(i + 2, r) for i, r in enumerate(province.org_rows)])
    for i in range(0, len(province.members), 10_000):
        part = province.members[i : i + 10_000]
        app.import_members([(i + j + 2, r) for j, r in enumerate(part)])
    for code, kind, percent, ref, start, end in province.exemptions:
        app.grant_exemption(code, kind, percent, ref, start, end)
    print(
        f"setup    {len(province.org_rows):,} organisations, {len(province.members):,} members, "
        f"{len(province.exemptions)} exemptions imported in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    facts = expected_facts(province)
    book = app.policy().book
    branches = list(province.branch_types)
    remitters = depth_order(province.org_rows)
    rng = random.Random(SEED)
    unpaid: dict[str, list[list[Any]]] = {r["code"]: [] for r in province.members}
    collected: dict[str, int] = {}  # period -> money applied to its lines
    for m in range(args.months):
        period = add_months(first, m)
        clock.at = at_10th(period)
        t0 = time.perf_counter()
        opened = app.open_month(period)
        t_open = time.perf_counter() - t0
        assessed = verify(app, province, facts, book, period, opened.members, opened.amount)
        rolls = app.load_many([roll_id(b, period) for b in branches], Roll)
        payers: list[tuple[str, str, int]] = []
        for b in branches:
            roll = rolls[roll_id(b, period)]
            for code in roll.lines:
                owed = roll.owed_by(code)
                if owed:
                    unpaid[code].append([period, owed])
                    if rng.random() < args.fraction:
                        payers.append((b, code, owed))
        t0 = time.perf_counter()
        month = pay_month(app, period, payers, args.chunk, unpaid, collected)
        t_pay = time.perf_counter() - t0
        month.members, month.assessed = opened.members, assessed
        t0 = time.perf_counter()
        app.close_month(period, ROOT_CODE)
        t_close = time.perf_counter() - t0
        t0 = time.perf_counter()
        for code in remitters:
            sent = app.remit(code, period)
            if sent.amount:
                month.remits += 1
                month.remitted += sent.amount
        t_remit = time.perf_counter() - t0
        history.months.append(month)
        print(
            f"setup    {period}: open {opened.members:,} lines {t_open:.1f} s; "
            f"{month.payments:,} payments {t_pay:.1f} s "
            f"({month.payments / t_pay if t_pay else 0:,.0f}/s, saves of {args.chunk:,}); "
            f"close {t_close:.1f} s; {month.remits:,} remittances {t_remit:.1f} s",
            flush=True,
        )
    for month in history.months:
        month.collected = collected.get(month.period, 0)
    return history


# --- storage plumbing ---------------------------------------------------------------------


def schema_exists(url: str, schema: str) -> bool:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema]
        ).fetchone()
    return row is not None


def save_history(url: str, schema: str, history: History) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".bench_expected '
            "(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.execute(
            f'INSERT INTO "{schema}".bench_expected VALUES (%s, %s) '
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            ["history", history.dump()],
        )


def load_history(url: str, schema: str) -> History:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        try:
            row = conn.execute(
                f"SELECT value FROM \"{schema}\".bench_expected WHERE name = 'history'"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
    if row is None:
        fail(f"schema {schema} holds no history of this benchmark (bench_expected)")
    assert row is not None
    return History.load(str(row[0]))


def event_counts(app: DuesLedger, topics: set[str]) -> tuple[int, int, int]:
    """(events in the log, of topics the models handle, last notification id)."""
    recorder: Any = app.recorder
    table = f'"{recorder.datastore.schema}".{recorder.events_table_name}'
    with recorder.datastore.get_connection() as conn:
        rows = conn.execute(f"SELECT topic, count(*) AS n FROM {table} GROUP BY topic").fetchall()
        last = conn.execute(f"SELECT max(notification_id) AS n FROM {table}").fetchone()
    total = sum(int(r["n"]) for r in rows)
    handled = sum(int(r["n"]) for r in rows if r["topic"] in topics)
    return total, handled, int(last["n"] or 0)


def scratch_datastore(app: DuesLedger, schema: str) -> PostgresDatastore:
    """A datastore on another schema of the same database (as projections.replay does)."""
    env = app.env
    return PostgresDatastore(
        dbname=env.get("POSTGRES_DBNAME", ""),
        host=env.get("POSTGRES_HOST", "127.0.0.1"),
        port=env.get("POSTGRES_PORT", "5432"),
        user=env.get("POSTGRES_USER", ""),
        password=env.get("POSTGRES_PASSWORD", ""),
        schema=schema,
    )


# --- timing ---------------------------------------------------------------------------------


def children_cpu() -> float:
    """CPU seconds of finished child processes (a rebuild may fork one per model group)."""
    t = os.times()
    return t.children_user + t.children_system


def rebuild(models: ReadModels, profile: str | None) -> tuple[int, float, float]:
    load = os.getloadavg()[0]
    profiler = cProfile.Profile() if profile else None
    t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
    if profiler:  # in this process only: the models' worker processes would escape it
        profiler.enable()
        events = models.rebuild(processes=False)  # type: ignore[call-arg,unused-ignore]
    else:
        events = models.rebuild()
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"BATCHED  ReadModels.rebuild(): {events:,} events in {seconds:.2f} s = "
        f"{events / seconds:,.0f} events/s (cpu {cpu:.2f} s in this process, "
        f"{children_cpu() - k0:.2f} s in its child processes; "
        f"load average {load:.2f} before)",
        flush=True,
    )
    return events, seconds, events / seconds


def naive(app: DuesLedger, schema: str, sample: int) -> float:
    """One transaction per event and model, into a fresh schema; returns events/s."""
    views = views_for(scratch_datastore(app, schema), owns=True)
    try:
        models = [m(views) for m in MODELS]
        for m in models:
            m.fresh = False  # each event reads its rows back, as a per-event runner does
        views.create_tables(
            [t for m in models for t in m.tables], [ix for m in models for ix in m.indexes]
        )
        recorder, mapper = app.recorder, app.mapper
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        done, start, last = 0, 1, 0
        while done < sample:
            page = recorder.select_notifications(start=start, limit=min(1_000, sample - done))
            if not page:
                break
            for n in page:
                event = mapper.to_domain_event(n)
                tracking = Tracking(app.name, n.id)
                for m in models:
                    m.process_event(event, tracking)
                    m.flush(n.id)
            done += len(page)
            last = start = page[-1].id
            start += 1
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        positions = {m.name: views.position(m.name) for m in models}
        if any(p != last for p in positions.values()):
            fail(f"naive positions {positions}, expected {last} for every model")
        rate = done / seconds
        print(
            f"NAIVE    first {done:,} events, process_event + flush per event and model "
            f"({len(models)} transactions per event): {seconds:.2f} s = {rate:,.0f} events/s "
            f"(cpu {cpu:.2f} s; load average {load:.2f} before)",
            flush=True,
        )
        return rate
    finally:
        views.close()


def timed(label: str, call: Callable[[], Any], runs: int = 20) -> float:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[max(0, -(-95 * runs // 100) - 1)]  # nearest rank
    median = statistics.median(samples)
    print(f"QUERY    {label}: median {median:.1f} ms, p95 {p95:.1f} ms ({runs} runs)")
    return median


# --- checks ---------------------------------------------------------------------------------

CORE_KEYS = (
    "assessed",
    "collected",
    "outstanding",
    "retained",
    "payable_to_parent",
    "remitted_to_parent",
    "received_from_children",
    "in_transit",
    "subtree_collected",
)


def check(app: DuesLedger, reads: Reads, history: History) -> None:
    periods = [m.period for m in history.months]

    def expect(got: dict[str, int], want: dict[str, int], where: str) -> None:
        wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
        if wrong:
            fail(f"{where}: read model (got, expected) {wrong}")

    for m in history.months:
        sub = reads.balance(ROOT_CODE, m.period)["subtree"]
        want = {
            "members": m.members,
            "assessed": m.assessed,
            "collected": m.collected,
            "outstanding": m.assessed - m.collected,
            "remitted_to_parent": m.remitted,
        }
        expect(sub, want, f"{ROOT_CODE} subtree {m.period}")
    year = reads.balance(ROOT_CODE)
    if year["periods"] != periods:
        fail(f"{ROOT_CODE} periods {year['periods']}, expected {periods}")
    paid = sum(m.paid for m in history.months)
    assessed = sum(m.assessed for m in history.months)
    expect(
        year["subtree"],
        {"assessed": assessed, "collected": paid, "outstanding": assessed - paid},
        f"{ROOT_CODE} subtree, all months",
    )
    n = history.branches
    branches = [f"P01-B{b:05d}" for b in sorted({1 + i * (n - 1) // 4 for i in range(5)})]
    sample = [*branches, "P01-W001-S1", "P01-W001", ROOT_CODE]
    for code in sample:
        for period in (periods[0], periods[-1]):
            core = app.balance(code, period)
            got = reads.balance(code, period)
            wrong = {k: (got[k], core[k]) for k in CORE_KEYS if got[k] != core[k]}
            if wrong:
                fail(f"{code} {period}: read model vs core (read, core) {wrong}")
    print(
        f"checked  {ROOT_CODE} subtree for each of {len(periods)} months and the year "
        f"(assessed {assessed:,} đ, paid {paid:,} đ); read model = core query for "
        f"{', '.join(sample)} in {periods[0]} and {periods[-1]}",
        flush=True,
    )


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--branches", type=int, default=4_000)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--fraction", type=float, default=1.0, help="members paying each month")
    p.add_argument("--chunk", type=int, default=2_000, help="payments per save")
    p.add_argument("--first-period", default="2026-01")
    p.add_argument("--naive-sample", type=int, default=20_000, help="0: skip the naive way")
    p.add_argument("--rebuilds", type=int, default=1, help="time the rebuild this many times")
    p.add_argument(
        "--profile", default=None, help="cProfile the first rebuild (in one process) into FILE"
    )
    p.add_argument("--setup-only", action="store_true", help="build the history and stop")
    p.add_argument("--db", default=os.environ.get("DANGPHI_BENCH_DB", DEFAULT_DB))
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--keep-schema", metavar="NAME", help="build into NAME and keep it")
    keep.add_argument("--reuse-schema", metavar="NAME", help="skip the setup, use NAME")
    args = p.parse_args(argv)
    if not args.db.startswith(("postgresql://", "postgres://")):
        p.error("--db must be a postgresql:// URL")
    if not 1 <= args.branches <= args.members or args.months < 1:
        p.error("need 1 ≤ branches ≤ members and months ≥ 1")
    if args.setup_only and not args.keep_schema:
        p.error("--setup-only needs --keep-schema NAME")
    if not 0.0 <= args.fraction <= 1.0:
        p.error("--fraction must be between 0 and 1")
    args.first_period = parse_period(args.first_period)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the schemas

    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine  {machine()}")
    suffix = uuid.uuid4().hex[:8]
    schema = args.reuse_schema or args.keep_schema or f"bench_proj_{suffix}"
    naive_schema = f"{schema[:40]}_naive_{suffix}"
    if args.reuse_schema and not schema_exists(args.db, schema):
        p.error(f"schema {schema} does not exist")
    if args.keep_schema and schema_exists(args.db, schema):
        p.error(f"schema {schema} exists already (use --reuse-schema {schema})")
    with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        print(
            f"database PostgreSQL {version[0] if version else '?'}, schema {schema}"
            f"{' (reused)' if args.reuse_schema else ''}, naive schema {naive_schema}"
        )
        if not args.reuse_schema:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE SCHEMA "{naive_schema}"')
    print(f"command  {' '.join([os.path.basename(sys.executable), *sys.argv])}", flush=True)
    args.history_saved = False
    try:
        return run(args, with_schema(args.db, schema), schema, naive_schema)
    finally:
        kept = args.reuse_schema or (args.keep_schema and args.history_saved)
        drop = [naive_schema] if kept else [naive_schema, schema]  # half a history is no use
        with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
            for s in drop:
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')


def run(args: argparse.Namespace, url: str, schema: str, naive_schema: str) -> int:
    clock = FixedClock(at_10th(args.first_period))
    app = build_ledger(load_settings(url), clock=clock)
    try:
        if args.reuse_schema:
            history = load_history(args.db, schema)
        else:
            t0 = time.perf_counter()
            history = build_history(app, clock, args)
            history.events = event_counts(app, set())[0]
            save_history(args.db, schema, history)
            args.history_saved = True
            print(
                f"setup    history built in {time.perf_counter() - t0:.1f} s: "
                f"{history.events:,} events",
                flush=True,
            )
            if args.setup_only:
                return 0
        clock.at = at_10th(history.months[-1].period)
        payments = sum(m.payments for m in history.months)
        print(
            f"history  {history.members:,} members, {history.branches:,} branches, "
            f"{len(history.months)} months from {history.months[0].period}, "
            f"{payments:,} payments (fraction {history.fraction}), "
            f"{sum(m.remits for m in history.months):,} remittances"
        )
        models = ReadModels(app, MODELS)
        topics = {t for m in models.models for t in m.topics_handled()}
        total, handled, last = event_counts(app, topics)
        print(
            f"log      {total:,} events (last notification id {last:,}), {handled:,} of them "
            f"({100 * handled / total:.1f} %) of the {len(topics)} topics the "
            f"{len(models.models)} read models handle"
        )
        rates = []
        for i in range(args.rebuilds):
            events, _, rate = rebuild(models, args.profile if i == 0 else None)
            if events != total:
                fail(f"rebuild read {events} events, the log holds {total}")
            rates.append(rate)
        reads = Reads(app, models)
        t0 = time.perf_counter()
        check(app, reads, history)
        print(f"checked  in {time.perf_counter() - t0:.1f} s", flush=True)

        naive_rate = naive(app, naive_schema, args.naive_sample) if args.naive_sample else 0.0

        last_period = history.months[-1].period
        branch = f"P01-B{max(1, history.branches // 2):05d}"
        member = f"M{max(1, history.members // 2):07d}"
        one = timed(
            f"balance({ROOT_CODE}, {last_period}) subtree",
            lambda: reads.balance(ROOT_CODE, last_period),
        )
        year = timed(f"balance({ROOT_CODE}) all months", lambda: reads.balance(ROOT_CODE))
        timed(f"balance({branch}, {last_period})", lambda: reads.balance(branch, last_period))
        timed(f"balance({branch}) all months", lambda: reads.balance(branch))
        timed(f"member_statement({member})", lambda: reads.member_statement(member))

        best = max(rates)
        ratio = f"x{best / naive_rate:.1f}" if naive_rate else "naive skipped"
        print(
            f"RESULT   rebuild {', '.join(f'{r:,.0f}' for r in rates)} events/s "
            f"({'meets' if best >= TARGET_RATE else 'BELOW'} {TARGET_RATE:,}/s); "
            f"naive {naive_rate:,.0f} events/s ({ratio}); "
            f"province balance median {one:.1f} ms one month, {year:.1f} ms all months "
            f"({'meets' if max(one, year) < TARGET_MS else 'ABOVE'} {TARGET_MS:.0f} ms)"
        )
        return 0
    finally:
        app.close()


if __name__ == "__main__":
    raise SystemExit(main())
