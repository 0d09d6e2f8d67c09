"""Benchmark: opening a month for a whole synthetic province, against the naive way.

    .venv/bin/python bench/month_open.py [--members N] [--branches B] [--naive-sample K]
                                         [--db URL] [--period YYYY-MM] [--months M]
                                         [--chunk C]

Builds a province of N members (default 100,000) in B branches (default 4,000)
with the real application API (`build_ledger`, `import_orgs`, `import_members`,
`grant_exemption`) in a fresh PostgreSQL schema, then times one call of
`app.open_month(period)` for the whole province. In the same run, in a second
fresh schema of the same database, it times the naive way on a sample of K
members (default 5,000): one aggregate per member, loaded with
`repository.get`, assessed with the same `PolicyBook.assess`, one event and one
`save()` per member. Both schemas are dropped at the end.

After timing, the rolls written are checked against an independent computation
over the generated members (count and total assessed, line by line for a few
branches); any mismatch exits non-zero. Setup time is printed but is not the
measured figure. `--months M` opens M months in a row (each timed and checked),
which shows the month in which the Registers reach a snapshot interval.

The application's PostgreSQL recorder (api/storage.py, DangphiPostgresRecorder)
inserts without pipeline mode, because psycopg 3.3.9 deadlocked on a large
pipelined insert; the benchmark measures that recorder as users run it.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import platform
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Transcoder
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from api.bootstrap import build_ledger
from api.settings import load_settings, storage_env
from api.storage import RECORDER_TOPIC as RECORDER
from ledger.app import DuesLedger
from ledger.clock import VIETNAM, FixedClock
from ledger.ids import roll_id
from ledger.period import add_months
from ledger.policy_rules import Exemption, MemberFacts, PolicyBook
from ledger.register import MemberRecord, new_record
from ledger.roll import Roll, opening_postings
from ledger.transcoding import LedgerTranscoder

DEFAULT_DB = "postgresql://root@127.0.0.1:5432/test"
TARGET = 50_000  # members assessed per second, from the issue
SEED = 2026

# A plausible mix for a province (shares, not official statistics).
CATEGORY_MIX = {
    "social_insured": 46,
    "pensioner": 26,
    "other_below_retirement": 12,
    "other_retirement_age": 9,
    "student": 4,
    "sick_or_maternity": 3,
}
REGION_MIX = {"I": 30, "II": 30, "III": 25, "IV": 15}
BASE_RANGE = {  # monthly income base in đồng, for the categories that need one
    "social_insured": (5_000_000, 30_000_000),
    "sick_or_maternity": (4_000_000, 12_000_000),
    "pensioner": (3_000_000, 15_000_000),
}
EXEMPTIONS = (  # kind, percent, months covered
    ("poor_household", 100, 12),
    ("near_poor_household", 100, 12),
    ("serious_illness", 100, 24),
    ("hardship", 50, 6),
    ("hardship", 30, 12),
    ("hardship", 70, 3),
)


# --- the synthetic province --------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    org_rows: list[dict[str, str]]
    branch_types: dict[str, str]
    members: list[dict[str, str]]  # import rows, grouped by branch
    exemptions: list[tuple[str, str, int, str, str, str]]  # code, kind, %, ref, from, to


def _pick(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _joined(rng: random.Random, category: str, today: date) -> date:
    if category == "student":
        first, last = 2018, today.year - 1
    elif category in ("pensioner", "other_retirement_age"):
        # about a fifth of these joined 50+ years ago: the automatic exemption
        first, last = (1960, today.year - 50) if rng.random() < 0.2 else (1970, 2005)
    else:
        first, last = 1985, today.year - 1
    return date(rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28))


def make_province(members: int, branches: int, period: str, today: date) -> Province:
    rng = random.Random(SEED)
    wards = max(1, min(100, branches // 10))
    rows = [
        {"code": "TW", "name": "Trung ương", "type": "central", "parent_code": ""},
        {"code": "P01", "name": "Tỉnh ủy (thử tải)", "type": "provincial", "parent_code": "TW"},
    ]
    ward_region: dict[str, str] = {}
    ward_subs: dict[str, list[str]] = {}
    for w in range(1, wards + 1):
        ward = f"P01-W{w:03d}"
        rows.append(
            {
                "code": ward,
                "name": f"Đảng ủy phường {w}",
                "type": "grassroots_committee",
                "parent_code": "P01",
            }
        )
        ward_region[ward] = _pick(rng, REGION_MIX)
        ward_subs[ward] = []
        if w % 20 == 1:  # a few wards have đảng bộ bộ phận between them and their branches
            for s in (1, 2):
                sub = f"{ward}-S{s}"
                rows.append(
                    {
                        "code": sub,
                        "name": f"Đảng bộ bộ phận {s} phường {w}",
                        "type": "sub_committee",
                        "parent_code": ward,
                    }
                )
                ward_subs[ward].append(sub)
    branch_types: dict[str, str] = {}
    branch_region: dict[str, str] = {}
    grassroots_branches = max(1, branches // 200)  # chi bộ cơ sở directly under the province
    ward_codes = list(ward_region)
    for b in range(1, branches + 1):
        code = f"P01-B{b:05d}"
        if b <= grassroots_branches:
            parent, kind, region = "P01", "grassroots_branch", _pick(rng, REGION_MIX)
        else:
            ward = ward_codes[(b - grassroots_branches - 1) % len(ward_codes)]
            subs = ward_subs[ward]
            parent = subs[b % 3] if subs and b % 3 < len(subs) else ward
            kind, region = "branch", ward_region[ward]
        rows.append({"code": code, "name": f"Chi bộ {b}", "type": kind, "parent_code": parent})
        branch_types[code] = kind
        branch_region[code] = region
    # Branch sizes vary (a few members to about fifty); every branch has at least one.
    codes = list(branch_types)
    weights = [rng.uniform(0.2, 1.8) for _ in codes]
    sizes = Counter(codes)
    sizes.update(rng.choices(codes, weights=weights, k=members - branches))
    member_rows: list[dict[str, str]] = []
    n = 0
    for branch in codes:
        for _ in range(sizes[branch]):
            n += 1
            category = _pick(rng, CATEGORY_MIX)
            low_high = BASE_RANGE.get(category)
            base = "" if low_high is None else str(rng.randrange(*low_high, 1000))
            member_rows.append(
                {
                    "code": f"M{n:07d}",
                    "full_name": f"Đảng viên {n}",
                    "branch_code": branch,
                    "category": category,
                    "monthly_base": base,
                    "region": branch_region[branch],
                    "party_joined_on": _joined(rng, category, today).isoformat(),
                    "national_id": "",
                }
            )
    exemptions = []
    for i, row in enumerate(rng.sample(member_rows, min(60, len(member_rows)))):
        kind, percent, months = EXEMPTIONS[i % len(EXEMPTIONS)]
        start = max(add_months(period, -rng.randint(0, months - 1)), row["party_joined_on"][:7])
        end = add_months(start, months - 1)
        exemptions.append((row["code"], kind, percent, f"QĐ {i + 1}/2026", start, end))
    return Province(rows, branch_types, member_rows, exemptions)


def expected_facts(province: Province) -> dict[str, MemberFacts]:
    """Each member's facts built straight from the generated rows (not from the ledger)."""
    granted: dict[str, list[Exemption]] = {}
    for code, kind, percent, ref, start, end in province.exemptions:
        granted.setdefault(code, []).append(Exemption(kind, percent, ref, start, end))
    return {
        r["code"]: MemberFacts(
            category=r["category"],
            monthly_base=int(r["monthly_base"]) if r["monthly_base"] else None,
            region=r["region"],
            party_joined_on=date.fromisoformat(r["party_joined_on"]),
            exemptions=tuple(granted.get(r["code"], ())),
        )
        for r in province.members
    }


# --- the naive way: one aggregate and one save per member ------------------------------


class NaiveMember(Aggregate):
    """A member's dues facts in its own aggregate (what the Register avoids)."""

    @event("Enrolled")
    def __init__(self, branch_code: str, record: MemberRecord) -> None:
        self.branch_code = branch_code
        self.record = record
        self.opened: list[str] = []

    def facts_at(self, period: str) -> MemberFacts:  # same steps as Register.facts_at
        rec = self.record
        category, base = rec["facts"][0][1], rec["facts"][0][2]
        for since, cat, amount in rec["facts"]:
            if since <= period:
                category, base = cat, amount
        exemptions = tuple(Exemption(k, p, ref, f, t) for k, p, ref, f, t in rec["exemptions"])
        return MemberFacts(
            category=category,
            monthly_base=base,
            region=rec["region"],
            party_joined_on=date.fromisoformat(rec["joined"]),
            exemptions=exemptions,
        )

    @event("MonthAssessed")
    def assess_month(self, period: str, line: list[Any], postings: list[list[object]]) -> None:
        """The member's roll line and its postings (what the Roll holds for the branch)."""
        self.record["credit"] -= line[6]
        if line[1] - line[6] > 0:
            self.record["unpaid"].append([self.branch_code, period, line[1] - line[6]])
        self.opened.append(period)


class NaiveLedger(Application[UUID]):
    name = "naive"

    def construct_transcoder(self) -> Transcoder:
        transcoder = LedgerTranscoder()  # the same transcoder as the ledger
        self.register_transcodings(transcoder)
        return transcoder


def naive_setup(app: NaiveLedger, rows: list[dict[str, str]], province: Province) -> list[UUID]:
    granted: dict[str, list[list[Any]]] = {}
    for code, kind, percent, ref, start, end in province.exemptions:
        granted.setdefault(code, []).append([kind, percent, ref, start, end])
    ids: list[UUID] = []
    batch: list[NaiveMember] = []
    for r in rows:
        joined = r["party_joined_on"]
        record = new_record(
            r["code"],
            r["full_name"],
            joined[:7],
            r["category"],
            int(r["monthly_base"]) if r["monthly_base"] else None,
            r["region"],
            joined,
        )
        record["exemptions"] = granted.get(r["code"], [])
        member = NaiveMember(branch_code=r["branch_code"], record=record)
        ids.append(member.id)
        batch.append(member)
        if len(batch) == 1000:
            app.save(*batch)
            batch = []
    app.save(*batch)
    return ids


def naive_open(app: NaiveLedger, ids: list[UUID], book: PolicyBook, period: str) -> int:
    total = 0
    for member_id in ids:
        member: NaiveMember = app.repository.get(member_id)
        a = book.assess(member.facts_at(period), period)
        used = min(int(member.record["credit"]), a.amount)
        line = [
            member.record["code"],
            a.amount,
            a.rule_id,
            a.income,
            a.exempt_kind,
            a.reduction_percent,
            used,
        ]
        member.assess_month(period, line, opening_postings(member.branch_code, [line]))
        app.save(member)
        total += a.amount
    return total


# --- plumbing ------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    cpus = len(os.sched_getaffinity(0))
    return (
        f"{cpus} CPUs (nproc), {model}, {ram_kb / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def with_schema(url: str, schema: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["schema"] = schema
    return urlunparse(parts._replace(query=urlencode(query)))


def conninfo(url: str) -> str:
    return urlunparse(urlparse(url)._replace(query=""))


def snapshot_count(app: DuesLedger) -> int:
    if app.snapshots is None:
        return 0
    recorder = app.snapshots.recorder
    assert isinstance(recorder, PostgresAggregateRecorder)
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(SQL("SELECT count(*) AS n FROM {}").format(table)).fetchone()
    return int(row["n"]) if row else 0


def fail(message: str) -> None:
    print(f"CHECK FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} members/s" if seconds > 0 else "n/a"


def verify(
    app: DuesLedger,
    province: Province,
    facts: dict[str, MemberFacts],
    book: PolicyBook,
    period: str,
    result_members: int,
    result_amount: int,
) -> int:
    """Check the saved rolls against the generated members; return the expected total."""
    by_branch: dict[str, list[str]] = {b: [] for b in province.branch_types}
    for r in province.members:
        if r["party_joined_on"][:7] <= period:
            by_branch.setdefault(r["branch_code"], []).append(r["code"])
    expected = {code: book.assess(f, period).amount for code, f in facts.items()}
    want_members = sum(len(v) for v in by_branch.values())
    want_amount = sum(expected[c] for codes in by_branch.values() for c in codes)
    if (result_members, result_amount) != (want_members, want_amount):
        fail(
            f"open_month returned {result_members} members / {result_amount} đ, "
            f"expected {want_members} / {want_amount}"
        )
    rolls = app.load_many([roll_id(b, period) for b in province.branch_types], Roll)
    if len(rolls) != len(by_branch):  # every branch gets a roll, even with no member yet
        fail(f"{len(rolls)} rolls saved for {period}, expected {len(by_branch)}")
    saved_members = sum(len(r.lines) for r in rolls.values())
    saved_amount = sum(r.assessed for r in rolls.values())
    if (saved_members, saved_amount) != (want_members, want_amount):
        fail(
            f"saved rolls hold {saved_members} members / {saved_amount} đ, "
            f"expected {want_members} / {want_amount}"
        )
    # Line by line for a few branches, each roll loaded on its own from the event store.
    sample = sorted(by_branch)[:: max(1, len(by_branch) // 5)][:5]
    for branch in sample:
        roll: Roll = app.repository.get(roll_id(branch, period))
        assert isinstance(roll, Roll)
        codes = by_branch[branch]
        if sorted(roll.lines) != sorted(codes):
            fail(f"roll {branch} {period} has members {sorted(roll.lines)}, expected {codes}")
        for code in codes:
            if roll.lines[code]["assessed"] != expected[code]:
                fail(f"{branch} {period} {code}: {roll.lines[code]} != {expected[code]} đ")
        if roll.assessed != sum(expected[c] for c in codes):
            fail(f"roll {branch} {period}: total {roll.assessed} is not the sum over members")
    return want_amount


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--branches", type=int, default=4_000)
    p.add_argument("--naive-sample", type=int, default=5_000)
    p.add_argument("--db", default=os.environ.get("DANGPHI_BENCH_DB", DEFAULT_DB))
    p.add_argument("--period", default=None, help="month to open (default: the current month)")
    p.add_argument("--months", type=int, default=1, help="open this many months in a row")
    p.add_argument("--chunk", type=int, default=10_000, help="members per import_members call")
    args = p.parse_args(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 PID: where is it?
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the schemas
    if not args.db.startswith(("postgresql://", "postgres://")):
        p.error("--db must be a postgresql:// URL")
    if not 1 <= args.branches <= args.members:
        p.error("need 1 ≤ branches ≤ members")

    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine  {machine()}")
    suffix = uuid.uuid4().hex[:10]
    fast_schema, naive_schema = f"bench_open_{suffix}", f"bench_naive_{suffix}"
    with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        print(
            f"database PostgreSQL {version[0] if version else '?'}, schemas {fast_schema}, {naive_schema}"
        )
        for s in (fast_schema, naive_schema):
            conn.execute(f'CREATE SCHEMA "{s}"')
    print(f"command  {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"psycopg  {psycopg.__version__}, libpq {psycopg.pq.version()}, recorder {RECORDER}")
    try:
        return run(args, with_schema(args.db, fast_schema), with_schema(args.db, naive_schema))
    finally:
        with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
            for s in (fast_schema, naive_schema):
                conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')


def run(args: argparse.Namespace, fast_url: str, naive_url: str) -> int:
    # the ledger opens a month at most 12 ahead of its clock: the clock moves to each month
    # the run opens after the current one (`--months 20` opened months 19 ahead)
    clock = FixedClock(datetime.now(VIETNAM))
    app = build_ledger(load_settings(fast_url), clock=clock)
    period = args.period or app.current_period()
    today = date.fromisoformat(app.today_iso())
    province = make_province(args.members, args.branches, period, today)
    sub_committees = sum(1 for r in province.org_rows if r["type"] == "sub_committee")
    print(
        f"province {len(province.members):,} members, {len(province.branch_types):,} branches, "
        f"{len(province.org_rows):,} organisations ({sub_committees} sub_committees), "
        f"{len(province.exemptions)} exemptions; opening {period}"
    )

    # --- setup (not the measured figure) ---
    t0 = time.perf_counter()
    app.import_orgs([(i + 2, r) for i, r in enumerate(province.org_rows)])
    t_orgs = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = province.members
    for i in range(0, len(rows), args.chunk):
        chunk = rows[i : i + args.chunk]
        app.import_members([(i + j + 2, r) for j, r in enumerate(chunk)])
    t_members = time.perf_counter() - t0
    t0 = time.perf_counter()
    for code, kind, percent, ref, start, end in province.exemptions:
        app.grant_exemption(code, kind, percent, ref, start, end)
    t_exempt = time.perf_counter() - t0
    print(
        f"setup    import_orgs {t_orgs:.1f} s; import_members {t_members:.1f} s "
        f"({rate(len(rows), t_members)}, chunks of {args.chunk:,}); "
        f"grant_exemption x{len(province.exemptions)} {t_exempt:.1f} s"
    )
    book = app.policy().book
    facts = expected_facts(province)

    # --- the measured figure: one call for the whole province ---
    fast_rates: list[float] = []
    for m in range(args.months):
        month = add_months(period, m)
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        if month > app.current_period():
            clock.at = datetime.fromisoformat(f"{month}-01T10:00:00").replace(tzinfo=VIETNAM)
        result = app.open_month(month)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        fast_rates.append(result.members / seconds)
        total = verify(app, province, facts, book, month, result.members, result.amount)
        print(
            f"FAST     open_month({month}): {result.members:,} members in {result.branches:,} "
            f"branches, {seconds:.2f} s = {rate(result.members, seconds)} "
            f"(cpu {cpu:.2f} s in this process; load average {load:.2f} before; "
            f"{snapshot_count(app)} snapshots in store; total {total:,} đ; rolls checked)"
        )
    fast_rate = fast_rates[0]
    app.close()

    # --- the naive way, same run, same database, its own schema ---
    naive = NaiveLedger(env=storage_env(naive_url)[1])
    step = max(1, len(rows) // max(1, args.naive_sample))
    sample = rows[::step][: args.naive_sample]
    t0 = time.perf_counter()
    ids = naive_setup(naive, sample, province)
    t_naive_setup = time.perf_counter() - t0
    print(f"setup    naive: {len(ids):,} member aggregates saved in {t_naive_setup:.1f} s")
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    naive_total = naive_open(naive, ids, book, period)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    naive_rate = len(ids) / seconds
    want = sum(book.assess(facts[r["code"]], period).amount for r in sample)
    if naive_total != want:
        fail(f"naive total {naive_total} đ, expected {want} đ")
    check: NaiveMember = naive.repository.get(ids[-1])
    if check.opened != [period]:
        fail("naive member not saved as opened")
    naive.close()
    print(
        f"NAIVE    {len(ids):,} members (every {step}th), one repository.get + one save each: "
        f"{seconds:.2f} s = {rate(len(ids), seconds)} "
        f"(cpu {cpu:.2f} s in this process; load average {load:.2f} before)"
    )
    verdict = "meets" if fast_rate >= TARGET else "BELOW"
    print(
        f"RESULT   fast {fast_rate:,.0f} members/s, naive {naive_rate:,.0f} members/s, "
        f"ratio {fast_rate / naive_rate:.1f}x; {verdict} the {TARGET:,}/s target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
