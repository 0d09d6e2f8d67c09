"""Benchmark: importing and matching a 200,000-line bank statement, against the naive way.

    .venv/bin/python -m bench.reconcile [--lines N] [--naive-sample K] [--members M]
                                        [--months T] [--chunk C] [--db URL]

Builds, with the real application API in a fresh PostgreSQL schema, a
grassroots party committee whose organisation account collects for its
branches (none of which has its own account): M members (default 8,000) in
branches of 80, T months opened (default 24, up to the bench's clock,
2026-12-15); a member request for each member of group A (three quarters of
each branch, paid month by month with the same request's code),
pay-on-behalf batches of five members of group B for each month, and group C
named in narratives only. Then it
writes one statement of N lines (default 200,000) plus K more (default
500) as banks print them:

    rule 1, member request   the code in a bank's memo (spaced, dotted, lower case, prefixes)
    rule 1, batch            a batch's code, the batch's whole amount
    rule 3, proposal         a member of group C named by name, one month's dues
    rule 4, suspense         incoming, nothing useful in the memo
    outgoing, flagged        outgoing, unexplained

(the exact counts are printed). The first N lines are written as a bank's
CSV export and read back with `read_statement` (timed apart: FILE), then
timed through
`app.import_statement` (what `dangphi statement import` calls: one read for
which lines exist, matching in file order, one save per chunk of C lines,
default the import's own, 40,000). In the same run and the same schema, the K remaining lines
are imported the naive way: `record_bank_transaction` for each line, one
read and one transaction per line. Both rates are lines per second of wall
time. WHOLE is the file's reading and the import together: what `dangphi
statement import` does with a file.

After timing, the outcome is checked against what the generator meant for
each line (rule per line, members' paid months, postings summing to zero,
the account's bank balance equal to the sum of its lines); any mismatch
exits non-zero. A second import of the same statement is timed too (it must
record nothing). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import random
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from api.bootstrap import build_ledger
from api.settings import load_settings
from bench.month_open import conninfo, fail, machine, with_schema
from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction
from ledger.clock import FixedClock
from ledger.period import add_months
from ledger.ports import BankTransactionFact
from ledger.services.statements import CHUNK
from projections.reads import Reads

DEFAULT_DB = "postgresql://root@127.0.0.1:5432/test"
TARGET = 20_000  # lines per second, from the issue
SEED = 2026
NOW = datetime.fromisoformat("2026-12-15T10:00:00+07:00")
BIN, ACCOUNT = "970436", "1012345678"
COMMITTEE = "G"
PER_BRANCH = 80
PREFIXES = (
    "MBVCB.4525077405.{memo}.CT tu 0351000646393 NGUYEN VAN A toi 1012345678",
    "IBFT {memo}",
    "TKThe :0351000646393, tai VCB. {memo} -CTLNHIDI000012345678",
    "CT DEN:{ref} {memo}",
    "NHAN TU 19033334444555 {memo} FT{ref}",
    "{memo}",
)
# A collecting account's month as we expect it once members pay by QR: most lines carry a
# request's code; a few name a member, a few are unexplained, a few go out.
MIX = {"member": 88, "batch": 3, "proposal": 3, "suspense": 4, "outgoing": 2}


@dataclass
class Plan:
    facts: list[BankTransactionFact] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    paid_lines: Counter[str] = field(default_factory=Counter)  # member -> lines paying them


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux


def spaced(code: str, style: int) -> str:
    if style == 1:
        return f"{code[:2]} {code[2:6]} {code[6:]}"
    if style == 2:
        return ".".join([code[:4], code[4:]])
    if style == 3:
        return code.lower()
    return code


def setup(app: DuesLedger, members: int, months: int) -> dict[str, Any]:
    first = add_months("2026-12", -(months - 1))
    branches = [f"B{b:03d}" for b in range((members + PER_BRANCH - 1) // PER_BRANCH)]
    org_rows = [
        {"code": "TW", "name": "Trung ương", "type": "central", "parent_code": ""},
        {"code": "P", "name": "Tỉnh ủy", "type": "provincial", "parent_code": "TW"},
        {"code": COMMITTEE, "name": "Đảng ủy", "type": "grassroots_committee", "parent_code": "P"},
    ] + [
        {"code": b, "name": f"Chi bộ {b}", "type": "branch", "parent_code": COMMITTEE}
        for b in branches
    ]
    app.import_orgs([(i + 2, r) for i, r in enumerate(org_rows)])
    rows = [
        {
            "code": f"M{n:06d}",
            "full_name": f"Nguyễn Văn Thành {n}",
            "branch_code": branches[n // PER_BRANCH],
            "category": "social_insured",
            "monthly_base": str(5_000_000 + (n % 200) * 50_000),
            "region": "I",
            "party_joined_on": "2001-05-19",
            "national_id": "",
        }
        for n in range(members)
    ]
    for i in range(0, len(rows), 5_000):
        app.import_members([(i + j + 2, r) for j, r in enumerate(rows[i : i + 5_000])])
    app.add_account(COMMITTEE, BIN, ACCOUNT, "DANG UY G", "organisation")
    periods = [add_months(first, m) for m in range(months)]
    for p in periods:
        app.open_month(p)
    codes = [r["code"] for r in rows]
    group_a: list[str] = []
    group_b: list[str] = []
    group_c: list[str] = []
    for i, c in enumerate(codes):  # in each branch of 80: 60 in A, 10 in B, 10 in C
        k = i % PER_BRANCH
        (group_a if k < 60 else group_b if k < 70 else group_c).append(c)
    dues = {c: int(r["monthly_base"]) // 100 for c, r in zip(codes, rows, strict=True)}
    requests = {c: app.member_request(c, expires_in_days=30).code for c in group_a}
    batches = []
    for p in periods:
        for i in range(0, len(group_b) - 4, 5):
            five = group_b[i : i + 5]
            r = app.batch_request("Công đoàn", five, period=p, expires_in_days=30)
            batches.append((r.code, r.total))
    return {
        "periods": periods,
        "a": group_a,
        "c": group_c,
        "dues": dues,
        "requests": requests,
        "batches": batches,
        "names": {r["code"]: r["full_name"] for r in rows},
    }


def plan_lines(world: dict[str, Any], n: int, rng: random.Random) -> Plan:
    plan = Plan()
    months = len(world["periods"])
    member_slots = [c for c in world["a"] for _ in range(months)]
    rng.shuffle(member_slots)
    batches = list(world["batches"])
    rng.shuffle(batches)
    kinds = [k for k, w in MIX.items() for _ in range(w)]
    for i in range(n):
        kind = rng.choice(kinds)
        if (kind == "member" and not member_slots) or (kind == "batch" and not batches):
            kind = "suspense"
        ref = f"FT26{i:09d}"
        day = f"2026-12-{1 + i * 14 // max(n, 1):02d}"
        direction, amount = "in", 0
        if kind == "member":
            code = member_slots.pop()
            memo = f"{spaced(world['requests'][code], rng.randrange(4))} DP 12 2026"
            amount = world["dues"][code]
            plan.paid_lines[code] += 1
        elif kind == "batch":
            bcode, amount = batches.pop()
            memo = f"{spaced(bcode, rng.randrange(4))} NOP HO CONG DOAN"
        elif kind == "proposal":
            code = rng.choice(world["c"])
            name = world["names"][code].replace("Nguyễn Văn Thành", "NGUYEN VAN THANH")
            memo, amount = f"{name} CHUYEN TIEN DANG PHI", world["dues"][code]
        elif kind == "suspense":
            memo, amount = "CHUYEN TIEN", rng.randrange(10, 500) * 1_000
        else:
            direction, memo, amount = "out", "PHI QUAN LY TAI KHOAN", rng.randrange(1, 50) * 1_000
        narrative = rng.choice(PREFIXES).format(memo=memo, ref=i)
        plan.facts.append(
            BankTransactionFact(
                source="statement:generic",
                external_id=ref,
                bin_code=BIN,
                account_number=ACCOUNT,
                direction=direction,
                amount=amount,
                value_date=day,
                narrative=narrative,
                reference=ref,
            )
        )
        plan.expected.append(kind)
    return plan


def time_reading_the_file(facts: list[BankTransactionFact]) -> float:
    """Write the statement as a bank exports it (CSV, Vietnamese headers, DD/MM/YYYY,
    thousands separators, a running balance), time `read_statement` on it, and check it
    reads back the generated lines. Returns the seconds the read took."""
    import csv
    import tempfile
    from pathlib import Path

    from payment_gateways.statements import read_statement

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sao-ke.csv"
        balance = 1_000_000_000
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(
                ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Số dư", "Diễn giải"]
            )
            for fact in facts:
                signed = fact.amount if fact.direction == "in" else -fact.amount
                balance += signed
                y, m, d = fact.value_date[:10].split("-")
                debit, credit = ("", f"{fact.amount:,}") if signed > 0 else (f"{fact.amount:,}", "")
                out.writerow(
                    [f"{d}/{m}/{y}", fact.reference, debit, credit, f"{balance:,}", fact.narrative]
                )
        size = path.stat().st_size
        t0 = time.perf_counter()
        statement = read_statement(path, bin_code=BIN, account_number=ACCOUNT)
        seconds = time.perf_counter() - t0

    def shape(f: BankTransactionFact) -> tuple[Any, ...]:
        return (f.direction, f.amount, f.value_date, f.narrative, f.reference)

    if [shape(f) for f in statement.facts] != [shape(f) for f in facts]:
        fail("the statement file read back other lines than were written")
    print(
        f"FILE     read_statement: {len(facts):,} lines ({size / 1e6:,.1f} MB CSV) in "
        f"{seconds:.2f} s = {len(facts) / seconds:,.0f} lines/s (not in the FAST figure)"
    )
    return seconds


OUTCOME = {
    "member": ("request",),
    "batch": ("request",),
    "proposal": ("proposal",),
    "suspense": ("suspense",),
    "outgoing": ("flagged",),
}


def verify(app: DuesLedger, plan: Plan, lines: int, world: dict[str, Any]) -> None:
    """Each line's outcome as generated; the books balance; the account's balance."""
    from ledger.bank_transaction import fact_id

    ids = [fact_id(f) for f in plan.facts]
    txs = app.load_many(ids, BankTransaction)
    if len(txs) != len(plan.facts):
        fail(f"{len(txs)} transactions stored for {len(plan.facts)} lines")
    queue = {i["transaction"]: i for i in app.suspense_items(COMMITTEE)}
    wrong = 0
    for tx_id, kind in zip(ids, plan.expected, strict=True):
        tx = txs[tx_id]
        if tx.matched is not None:
            got = tx.matched["how"]
        elif tx.suspense is not None and tx.suspense["flagged"]:
            got = "flagged"
        else:
            got = "proposal" if queue.get(str(tx_id), {}).get("proposal") else "suspense"
        if got not in OUTCOME[kind]:
            wrong += 1
    if wrong:
        fail(f"{wrong} lines matched otherwise than generated")
    balances = app.account_balances()
    if sum(balances.values()) != 0:
        fail("postings do not sum to zero")
    bank = balances.get(f"{COMMITTEE}:assets:bank:{ACCOUNT}", 0)
    signed = sum(f.amount if f.direction == "in" else -f.amount for f in plan.facts)
    if bank != signed:
        fail(f"bank account balance {bank} đ, lines sum to {signed} đ")
    for code in list(plan.paid_lines)[:200]:
        paid = sum(1 for m in app.member_statement(code)["months"] if m["outstanding"] == 0)
        if paid != plan.paid_lines[code]:
            fail(f"{code}: {paid} months paid, {plan.paid_lines[code]} lines paid them")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--naive-sample", type=int, default=500)
    p.add_argument("--members", type=int, default=8_000)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--chunk", type=int, default=CHUNK)
    p.add_argument("--db", default=os.environ.get("DANGPHI_BENCH_DB", DEFAULT_DB))
    p.add_argument(
        "--profile-import",
        metavar="FILE",
        help="write a cProfile of the timed import to FILE (its rate is then not comparable)",
    )
    p.add_argument(
        "--profile-naive",
        metavar="FILE",
        help="write a cProfile of the naive lines to FILE (their rate is then not comparable)",
    )
    args = p.parse_args(argv)
    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine  {machine()}")
    schema = f"bench_rec_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        print(f"database PostgreSQL {version[0] if version else '?'}, schema {schema}")
        conn.execute(f'CREATE SCHEMA "{schema}"')
    print(f"command  {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    try:
        return run(args, with_schema(args.db, schema))
    finally:
        with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(args: argparse.Namespace, url: str) -> int:
    app = build_ledger(load_settings(url), clock=FixedClock(NOW))
    t0 = time.perf_counter()
    world = setup(app, args.members, args.months)
    print(
        f"setup    {args.members:,} members, {args.months} months opened, "
        f"{len(world['requests']):,} member requests, {len(world['batches']):,} batch requests "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    plan = plan_lines(world, args.lines + args.naive_sample, random.Random(SEED))
    fast, naive = plan.facts[: args.lines], plan.facts[args.lines :]
    mix = Counter(plan.expected[: args.lines])
    print("lines    " + ", ".join(f"{k} {v:,}" for k, v in mix.most_common()))

    read_seconds = time_reading_the_file(fast)

    load = os.getloadavg()[0]
    rss_before = rss_mb()
    profiler = cProfile.Profile() if args.profile_import else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    counts = app.import_statement(COMMITTEE, fast, chunk=args.chunk)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_import)
        print(f"profile  the timed import, with the profiler on: {args.profile_import}")
    fast_rate = len(fast) / seconds
    print(
        f"FAST     import_statement: {len(fast):,} lines in {seconds:.2f} s = "
        f"{len(fast) / seconds:,.0f} lines/s (cpu {cpu:.2f} s here; load average {load:.2f} before; "
        f"{counts})"
    )
    print(
        f"WHOLE    reading the file then importing it (what `statement import` does): "
        f"{len(fast) / (read_seconds + seconds):,.0f} lines/s"
    )
    # the import runs with the cyclic collector paused: what it left for it, and the memory
    rss_after, unreachable = rss_mb(), gc.collect()
    print(
        f"memory   resident {rss_before:,.0f} MB before the import, {rss_after:,.0f} MB after "
        f"(peak of the run so far {peak_mb():,.0f} MB); the collector then found "
        f"{unreachable:,} unreachable objects"
    )

    t0 = time.perf_counter()
    again = app.import_statement(COMMITTEE, fast, chunk=args.chunk)
    seconds_again = time.perf_counter() - t0
    if again["new"] != 0:
        fail(f"re-import recorded {again['new']} lines")
    print(
        f"AGAIN    the same statement again: {again['already']:,} already, 0 new, {seconds_again:.2f} s"
    )

    load = os.getloadavg()[0]
    profiler = cProfile.Profile() if args.profile_naive else None
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    for fact in naive:
        app.record_bank_transaction(fact)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile_naive)
        print(f"profile  the naive lines, with the profiler on: {args.profile_naive}")
    naive_rate = len(naive) / seconds if naive else 0.0
    print(
        f"NAIVE    record_bank_transaction per line: {len(naive):,} lines in {seconds:.2f} s = "
        f"{naive_rate:,.0f} lines/s (cpu {cpu:.2f} s; load average {load:.2f} before)"
    )
    t0 = time.perf_counter()
    verify(app, plan, args.lines, world)
    print(
        f"checked  every line's outcome, postings, bank balance, paid months ({time.perf_counter() - t0:.1f} s)"
    )
    reads = Reads(app)
    t0 = time.perf_counter()
    report = reads.reconcile(COMMITTEE)  # the bank-lines model catches up first
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = reads.reconcile(COMMITTEE)
    from_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    if app.reconcile(COMMITTEE) != report:
        fail("the read model's reconcile differs from the ledger's")
    from_log = time.perf_counter() - t0
    t0 = time.perf_counter()
    events = reads.catch_up()
    print(
        f"REPORT   reconcile --org {COMMITTEE} (what the treasurer asks next), "
        f"{report['accounts'][0]['lines']:,} lines, {len(report['suspense']):,} suspense items: "
        f"{from_model:.2f} s from the read model ({first:.1f} s the first time, catching up "
        f"the bank-lines model), {from_log:.2f} s reading the whole log (the naive way); "
        f"the two reports are equal. The other read models' catch-up: {events:,} events "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    reads.close()
    ratio = fast_rate / naive_rate if naive_rate else float("inf")
    verdict = "meets" if fast_rate >= TARGET else "DOES NOT meet"
    print(
        f"RESULT   {fast_rate:,.0f} lines/s batched vs {naive_rate:,.0f} lines/s naive "
        f"(x{ratio:.1f}); {verdict} the {TARGET:,} lines/s target"
    )
    app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
