"""The architecture's money invariants hold after any sequence of treasurers' commands.

Hypothesis draws a tree (depth 2 to 5, mixed organisation types), members of
every category (some exempt or reduced), and a sequence of commands: open a
month, pay (random amounts and channels, named months or not, retried
references), back-dated income changes, close, remit at any level, spend,
official transfers, next month. Every example runs on a fresh ledger; then the auditor checks:

- every event's debits equal its credits, and all postings sum to zero;
- each closed branch-month: retained + payable = collected (open ones allocate nothing);
- each member and branch: receivable = assessed − paid, month by month, and the
  register's unpaid months (what payments apply to) match the statement;
- nothing is created or lost between levels: what members paid = what every
  level retained + payable not yet remitted + collected not yet allocated +
  members' credit; and what members paid − what was spent = money held;
- each organisation's bank + cash = what it received − what it sent.

Most examples run on the in-memory store (fast); a smaller fixed number run on
SQLite and PostgreSQL, each example in its own new database or schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import build_ledger
from api.settings import load_settings
from ledger.app import DuesLedger
from ledger.errors import Conflict
from ledger.identity import IdentityCipher
from ledger.ids import register_id, roll_id
from ledger.organisation import MEMBER_TYPES
from ledger.payment import CHANNELS
from ledger.period import add_months
from ledger.register import Register
from ledger.remittance import Remittance
from ledger.roll import Roll
from ledger.services.base import UnitOfWork
from tests.builders import member_row, numbered, org_rows, unbalanced_events
from tests.conftest import PG_CONNINFO, PG_URL, TEST_KEY

INTERMEDIATE = ("provincial", "above_grassroots", "grassroots_committee", "sub_committee")
BASE_CATEGORIES = ("social_insured", "sick_or_maternity", "pensioner")
CATEGORIES = (*BASE_CATEGORIES, "student", "other_below_retirement", "other_retirement_age")
JOINED = ("2005-05-19", "1990-01-15", "2019-12-01", "1976-11-20", "1975-03-10")
EXEMPTIONS = (None, ("poor_household", 100), ("hardship", 30), ("hardship", 50), ("hardship", 70))
MAX_MONTHS = 6

Factory = Callable[[], AbstractContextManager[DuesLedger]]


# --- what hypothesis draws ------------------------------------------------------------------


@dataclass
class Scenario:
    tree: list[tuple[str, str, str, str]]
    members: list[tuple[dict[str, str], tuple[str, int] | None, int]]
    start: str
    ops: list[tuple[Any, ...]]

    @property
    def branches(self) -> list[str]:
        return [code for code, _, kind, _ in self.tree if kind in MEMBER_TYPES]


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str, str, str]]:
    depth = draw(st.integers(2, 5))
    rows = [("TW", "Trung ương", "central", "")]
    frontier = ["TW"]
    for level in range(1, depth):
        kinds = MEMBER_TYPES if level == depth - 1 else (*MEMBER_TYPES, *INTERMEDIATE)
        below: list[str] = []
        for parent in frontier:
            for i in range(draw(st.integers(1, 2 if len(rows) < 10 else 1))):
                code = f"{parent}.{i}"
                kind = draw(st.sampled_from(kinds))
                rows.append((code, f"Tổ chức {code}", kind, parent))
                if kind not in MEMBER_TYPES:
                    below.append(code)
        frontier = below
    return rows


@st.composite
def members(draw: st.DrawFn, branch: str, n: int) -> list[Any]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        category = draw(st.sampled_from(CATEGORIES))
        base = draw(st.integers(1_000_001, 30_000_000)) if category in BASE_CATEGORIES else None
        row = member_row(
            f"M{n}{i}",
            branch,
            category=category,
            base=base,
            region=draw(st.sampled_from(("I", "II", "III", "IV"))),
            joined=draw(st.sampled_from(JOINED)),
        )
        out.append((row, draw(st.sampled_from(EXEMPTIONS)), draw(st.integers(0, 5))))
    return out


PAY = st.tuples(
    st.just("pay"),
    st.integers(0, 99),
    st.integers(1, 300_000),
    st.sampled_from(CHANNELS),
    st.booleans(),
    st.integers(0, 4),
)
CLOSE = st.tuples(st.just("close"), st.integers(0, 99), st.integers(0, 3))
REMIT = st.tuples(st.just("remit"), st.integers(0, 99), st.integers(0, 3))
# Hypothesis leans towards the first alternatives (and repeats weigh more): payments first.
OPS = st.one_of(
    PAY,
    PAY,
    st.just(("next",)),
    CLOSE,
    PAY,
    REMIT,
    st.tuples(st.just("income"), st.integers(0, 99), st.integers(1_000_001, 30_000_000)),
    st.just(("open",)),
    CLOSE,
    REMIT,
    st.tuples(st.just("spend"), st.integers(0, 99), st.integers(1, 60_000)),
    st.tuples(st.just("transfer"), st.integers(0, 99), st.integers(0, 99)),
)


# The tree restructured while months go on: an organisation moves under another committee.
RESTRUCTURING = st.one_of(OPS, st.tuples(st.just("move"), st.integers(0, 99), st.integers(0, 99)))


@st.composite
def scenarios(draw: st.DrawFn, restructure: bool = False) -> Scenario:
    tree = draw(trees())
    branches = [code for code, _, kind, _ in tree if kind in MEMBER_TYPES]
    people = [m for n, b in enumerate(branches) for m in draw(members(b, n))]
    start = draw(st.sampled_from(("2026-09", "2025-12")))
    opening = [("open",)]
    ops = RESTRUCTURING if restructure else OPS
    return Scenario(tree, people, start, opening + draw(st.lists(ops, min_size=10, max_size=40)))


# --- running a scenario ---------------------------------------------------------------------


@dataclass
class Run:
    app: DuesLedger
    scenario: Scenario
    cursor: str
    opened: list[str] = field(default_factory=list)
    refs: list[tuple[str, str, int]] = field(default_factory=list)
    spent: int = 0

    @property
    def codes(self) -> list[str]:
        return [row["code"] for row, _, _ in self.scenario.members]

    @property
    def orgs(self) -> list[str]:
        return [code for code, *_ in self.scenario.tree]

    def refused(self, command: Callable[[], object]) -> bool:
        """Run a command the ledger may refuse with Conflict; a refusal writes nothing."""
        before = self.app.recorder.max_notification_id()
        try:
            command()
        except Conflict as error:
            assert error.message_vi and error.message_en
            assert self.app.recorder.max_notification_id() == before
            return True
        return False

    def back(self, n: int) -> str:
        return self.opened[-1 - n % len(self.opened)]

    def do(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        if kind == "open":
            refused = self.refused(lambda: self.app.open_month(self.cursor))
            assert refused == (self.cursor in self.opened)
            if not refused:
                self.opened.append(self.cursor)
        elif kind == "next":
            if len(self.opened) < MAX_MONTHS:
                self.cursor = add_months(self.cursor, 1)
        elif kind == "pay":
            self.pay(*args)
        elif kind == "transfer":
            self.transfer(*args)
        elif kind == "move":
            self.move(*args)
        elif self.opened:
            self.on_a_month(kind, *args)

    def pay(self, who: int, amount: int, channel: str, named: bool, retry: int) -> None:
        if retry == 4 and self.refs:  # hypothesis favours 0: make retries the rarer case
            reference, code, first = self.refs[who % len(self.refs)]
            before = self.app.recorder.max_notification_id()
            assert self.app.pay(code, first, reference=reference).duplicate
            assert self.app.recorder.max_notification_id() == before
            return
        code = self.codes[who % len(self.codes)]
        owed = [m["period"] for m in self.app.member_statement(code)["months"] if m["outstanding"]]
        months = owed[-1 - who % 2 :] if named and owed else None
        reference = f"R{len(self.refs)}"
        self.app.pay(code, amount, channel=channel, reference=reference, months=months)
        self.refs.append((reference, code, amount))

    def transfer(self, who: int, where: int) -> None:
        """An official transfer from the first month no branch has opened yet."""
        code = self.codes[who % len(self.codes)]
        others = [b for b in self.scenario.branches if b != self.app.get_member(code).branch_code]
        if others:
            start = add_months(self.cursor, 1) if self.cursor in self.opened else self.cursor
            self.app.transfer_member(code, others[where % len(others)], start)

    def move(self, who: int, where: int) -> None:
        """An organisation moves under another committee from the first month not opened."""
        committees = [c for c, _, kind, _ in self.scenario.tree if kind not in MEMBER_TYPES]
        movable = [c for c in self.orgs if c != "TW"]
        code, parent = movable[who % len(movable)], committees[where % len(committees)]
        start = add_months(self.cursor, 1) if self.cursor in self.opened else self.cursor
        self.refused(lambda: self.app.move_org(code, parent, start))

    def on_a_month(self, kind: str, who: int, value: int, *_: int) -> None:
        org = self.orgs[who % len(self.orgs)]
        if kind == "income":
            code = self.codes[who % len(self.codes)]
            category = CATEGORIES[value % len(CATEGORIES)]
            base = value if category in BASE_CATEGORIES else None
            self.app.change_income(code, category, base, self.back(value))
        elif kind == "close":
            self.refused(lambda: self.app.close_month(self.back(value), org))
        elif kind == "remit":
            assert self.refused(lambda: self.app.remit(org, self.back(value))) == (org == "TW")
        elif kind == "spend" and not self.refused(
            lambda: self.app.spend(org, value, "Chi hoạt động", f"S{self.spent}", "bank")
        ):
            self.spent += 1


def play(app: DuesLedger, scenario: Scenario) -> Run:
    app.import_orgs(org_rows(scenario.tree))
    app.import_members(numbered([row for row, _, _ in scenario.members]))
    for row, exemption, months in scenario.members:
        if exemption is not None:
            kind, percent = exemption
            end = add_months(scenario.start, months)
            app.grant_exemption(row["code"], kind, percent, "QĐ thử", scenario.start, end)
    run = Run(app, scenario, scenario.start)
    for op in scenario.ops:
        run.do(op)
    return run


# --- the auditor's checks -------------------------------------------------------------------


def events_named(app: DuesLedger, name: str) -> list[Any]:
    """Stored events of one class, e.g. "Payment.Received" (the library makes these classes)."""
    return [e for e in app.iter_events() if type(e).__qualname__ == name]


def check_double_entry(app: DuesLedger) -> dict[str, int]:
    assert unbalanced_events(app) == []
    balances = app.account_balances()
    assert sum(balances.values()) == 0
    return balances


def check_rolls(run: Run, balances: dict[str, int]) -> list[Roll]:
    keys = [roll_id(b, p) for b in run.scenario.branches for p in run.opened]
    rolls = list(run.app.load_many(keys, Roll).values())
    for roll in rolls:
        allocated = roll.retained + roll.payable
        assert allocated == (roll.collected if roll.closed else 0), roll.branch_code
    for branch in run.scenario.branches:
        mine = [r for r in rolls if r.branch_code == branch]
        unallocated = sum(r.assessed - (r.collected if r.closed else 0) for r in mine)
        assert -balances.get(f"{branch}:income:dues_assessed", 0) == unallocated
    return rolls


def check_members(run: Run, balances: dict[str, int]) -> int:
    """Receivables and registers agree with the statements; returns the members' total credit."""
    credit = 0
    for code in run.codes:
        statement = run.app.member_statement(code)
        credit += statement["credit"]
        by_branch: dict[str, int] = {}
        for m in statement["months"]:
            assert m["outstanding"] == m["assessed"] - m["paid"] >= 0
            by_branch[m["branch"]] = by_branch.get(m["branch"], 0) + m["outstanding"]
        for branch, owed in by_branch.items():
            assert balances.get(f"{branch}:assets:receivable:{code}", 0) == owed, code
        prepaid = {k: v for k, v in balances.items() if k.endswith(f":prepaid:{code}") and v}
        home = f"{statement['branch']}:liabilities:prepaid:{code}"
        assert prepaid == ({home: -statement["credit"]} if statement["credit"] else {})
        register = run.app.get_or_none(register_id(statement["branch"]), Register)
        assert register is not None
        # Each branch's register is the authority for the months that branch assessed.
        registers = run.app.member_registers(UnitOfWork(run.app), run.app.get_member(code))
        unpaid = {(b, p): a for b, p, a in run.app.unpaid_items(registers, code)}
        owed_months = {(m["branch"], m["period"]): m["outstanding"] for m in statement["months"]}
        assert unpaid == {k: v for k, v in owed_months.items() if v}
        assert register.members[code]["credit"] == statement["credit"]
    return credit


def check_conservation(run: Run, rolls: list[Roll], credit: int) -> None:
    app = run.app
    paid = sum(p.amount for p in events_named(app, "Payment.Received"))
    retained = unremitted = 0
    for org in run.orgs:
        for period in run.opened:
            figures = app.balance(org, period)
            retained += figures["retained"]
            unremitted += figures["payable_to_parent"] - figures["remitted_to_parent"]
    unallocated = sum(r.collected for r in rolls if not r.closed)
    spent = sum(sum(app.get_org(org).spending.values()) for org in run.orgs)
    assert paid == retained + unremitted + unallocated + credit
    money = sum(v for k, v in app.account_balances().items() if k.endswith((":bank", ":cash")))
    assert money == paid - spent


def check_org_money(run: Run, balances: dict[str, int]) -> None:
    app = run.app
    received = dict.fromkeys(run.orgs, 0)
    sent = dict.fromkeys(run.orgs, 0)
    for payment in events_named(app, "Payment.Received"):
        received[payment.branch_code] += payment.amount
    for remitted in events_named(app, "Remittance.Remitted"):
        remittance = app.get_or_none(remitted.originator_id, Remittance)
        assert remittance is not None
        sent[remittance.org_code] += remitted.amount
        received[remitted.parent_code] += remitted.amount
    for org in run.orgs:
        sent[org] += sum(app.get_org(org).spending.values())
        held = balances.get(f"{org}:assets:cash", 0) + sum(
            v
            for k, v in balances.items()
            if k == f"{org}:assets:bank" or k.startswith(f"{org}:assets:bank:")
        )
        assert held == received[org] - sent[org], org


def check_invariants(run: Run) -> None:
    balances = check_double_entry(run.app)
    rolls = check_rolls(run, balances)
    credit = check_members(run, balances)
    check_conservation(run, rolls, credit)
    check_org_money(run, balances)


# --- fresh ledgers, one per example ---------------------------------------------------------


@contextmanager
def in_memory() -> Iterator[DuesLedger]:
    app = DuesLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        identity_cipher=IdentityCipher(TEST_KEY),
    )
    yield app
    app.close()


@contextmanager
def on_sqlite(folder: Path) -> Iterator[DuesLedger]:
    app = build_ledger(load_settings(f"sqlite:///{folder}/{uuid.uuid4().hex}.sqlite3"))
    yield app
    app.close()


@contextmanager
def on_postgres() -> Iterator[DuesLedger]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        app = build_ledger(load_settings(f"{PG_URL}?schema={schema}"))
        try:
            yield app
        finally:
            app.close()
    finally:
        with psycopg.connect(PG_CONNINFO, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# One fresh ledger per example, so the function-scoped `frozen` clock is safe to share.
EXAMPLES = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class TestTheAuditorsInvariants:
    @settings(EXAMPLES, max_examples=100)
    @given(scenario=scenarios())
    def test_money_is_neither_created_nor_lost_in_memory(
        self, frozen: object, scenario: Scenario
    ) -> None:
        with in_memory() as app:
            check_invariants(play(app, scenario))

    @settings(EXAMPLES, max_examples=25)
    @given(scenario=scenarios())
    def test_money_is_neither_created_nor_lost_on_storage(
        self, frozen: object, fresh_storage: Factory, scenario: Scenario
    ) -> None:
        with fresh_storage() as app:
            check_invariants(play(app, scenario))
