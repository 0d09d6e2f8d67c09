"""Bank reconciliation keeps the books whole after any sequence of imports and notifications.

Hypothesis draws, on a small ledger (organisation accounts of HN-BD-01 and
HN-BD, month 2026-12 open; two members' requests, a batch and a payroll
request made up front), a sequence of steps: a statement of random lines (a
request's code for what it asks or a random amount; a member named; money
nobody explains, in and out; an outgoing line citing an earlier incoming
line's bank reference for the same amount, which reverses it), the same
statement again, an overlapping one (half an earlier statement, the lines only
a webhook reported, new lines), a webhook notification delivered several
times, the bank taking back an earlier line, resolving an open suspense item
(a member, a refund, not dues), confirming a proposal. Then the auditor checks:

- the core's invariants (`test_invariants.py`): every event balanced, all
  postings sum to zero, rolls allocate nothing while open, and each member's
  receivable, credit and register agree with the statement;
- each registered account's `ORG:assets:bank:NUMBER` holds exactly the signed
  sum of the distinct lines on it (opening 0), and no other bank account moves;
- open incoming suspense items add up to the suspense account's credit, open
  outgoing ones to the unexplained outflow;
- one BankTransaction per distinct line key (account, direction, bank
  reference), every import counts exactly the lines it had not seen as new, the
  reconciliation report counts each line once, and each request has received
  the sum of the lines that settled it and were not reversed;
- importing every statement and delivering every notification once more
  stores no event at all.

A second property (`TestCreditMonthsAndTransfersAmongImports`) mixes in the core's
steps: members' requests paid ahead, the next month opened (credit pays it), back-dated
income changes and transfers, cash payments; so a reversal must give back credit that
months, cuts and transfers have used or moved since.

Most examples run in memory (shrunk when one fails); a few run on SQLite and
PostgreSQL, each in its own new database or schema. A counterexample the
property found is kept as an explicit example, so every run tries it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id
from ledger.payment_request import PaymentRequest
from ledger.ports import BankTransactionFact
from payment_gateways.gateways.encoder import BankList, VietQREncoder
from tests.builders import TREE, member_row, small_ledger
from tests.integration.test_invariants import (
    EXAMPLES,
    Factory,
    Run,
    Scenario,
    check_double_entry,
    check_members,
    check_rolls,
    events_named,
    in_memory,
)

BIN = "970436"
ACCOUNTS = (("HN-BD-01", "1012345678"), ("HN-BD", "1012345679"))
MEMBERS = tuple((f"M{i}", "HN-BD-01" if i < 3 else "HN-BD-02") for i in range(5))
PERIOD = "2026-12"
CORE = Scenario(TREE, [(member_row(c, b), None, 0) for c, b in MEMBERS], PERIOD, [])

T = TypeVar("T")
Key = tuple[str, str, str]  # account number, direction, the bank's reference

# --- what hypothesis draws ------------------------------------------------------------------

# Round thousands, spread evenly (hypothesis draws integers mostly small), or any amount.
AMOUNT = st.sampled_from(range(1_000, 200_001, 1_000)) | st.integers(1, 200_000)
ASKED = st.just("asked") | AMOUNT  # what the QR asks (again, if it is paid twice), or anything
RECENT = st.just(0) | st.integers(0, 2) | st.integers(0, 9)  # how far back: mostly the last
CODE = st.tuples(st.just("code"), RECENT, ASKED)  # requests[-1], the payroll, most often
NAMED = st.tuples(st.just("member"), st.integers(0, 4), st.booleans(), st.just(70_000) | AMOUNT)
REVERSAL = st.tuples(st.just("reverse"), RECENT)
# Hypothesis leans towards the first alternatives (and repeats weigh more): codes and reversals.
LINE = st.one_of(
    CODE,
    REVERSAL,
    CODE,
    NAMED,
    CODE,
    st.tuples(st.just("stray"), AMOUNT),
    REVERSAL,
    st.tuples(st.just("out"), AMOUNT),
)
LINES = st.lists(LINE, min_size=1, max_size=3)
IMPORT = st.tuples(st.just("import"), st.integers(0, 1), LINES)
HOW = st.sampled_from(("member", "refund", "not_dues"))
RESOLVE = st.tuples(st.just("resolve"), RECENT, HOW, st.integers(0, 4))
BOUNCE = st.tuples(st.just("bounce"), RECENT, st.booleans())
STEPS = st.lists(
    st.one_of(
        IMPORT,
        RESOLVE,
        BOUNCE,
        st.tuples(st.just("webhook"), st.integers(0, 1), LINE, st.integers(1, 3)),
        IMPORT,
        RESOLVE,
        st.tuples(st.just("confirm"), RECENT),
        RESOLVE,
        BOUNCE,
        st.tuples(st.just("reimport"), RECENT),
        st.tuples(st.just("overlap"), RECENT, LINES),
        st.tuples(st.just("notify_again"), RECENT),
        # a day exported newest first: a reversal before the line it takes back
        st.tuples(st.just("import_newest_first"), st.integers(0, 1), LINES),
    ),
    min_size=5,
    max_size=20,
)

# The core's own steps among the bank's (`test_invariants.py`): a back-dated income change
# (a cut gives credit back, a raise is paid from credit), a transfer to the other branch,
# the next month opened (credit pays it first), a payment in cash, by hand or ahead.
# Then a reversal has credit to give back that months, cuts and transfers moved.
CORE_STEP = st.tuples(
    st.just("core"),
    st.one_of(
        st.tuples(st.just("income"), st.integers(0, 99), st.integers(1_000_001, 30_000_000)),
        st.tuples(st.just("transfer"), st.integers(0, 99), st.integers(0, 99)),
        st.just(("month",)),
        st.tuples(
            st.just("pay"),
            st.integers(0, 99),
            st.integers(1, 300_000),
            st.just("cash"),  # the bank accounts move by the bank's lines only
            st.booleans(),
            st.integers(0, 4),
        ),
    ),
)
# A member's own request (M1's, M0's) paid ahead: credit for the months to come.
AHEAD = st.tuples(st.just("code"), st.sampled_from((2, 3)), st.integers(70_001, 300_000))
LINE_AHEAD = st.one_of(AHEAD, REVERSAL, AHEAD, CODE, LINE)
IMPORT_AHEAD = st.tuples(
    st.just("import"), st.integers(0, 1), st.lists(LINE_AHEAD, min_size=1, max_size=3)
)
WITH_THE_CORE = st.lists(
    st.one_of(
        IMPORT_AHEAD,
        CORE_STEP,
        st.just(("core", ("month",))),
        BOUNCE,
        st.tuples(st.just("webhook"), st.integers(0, 1), LINE_AHEAD, st.integers(1, 2)),
        CORE_STEP,
        RESOLVE,
        IMPORT,
        st.tuples(st.just("confirm"), RECENT),
        st.tuples(st.just("overlap"), RECENT, LINES),
    ),
    min_size=5,
    max_size=25,
)


# --- the bank's side: lines, statements, notifications -------------------------------------


@dataclass(frozen=True)
class Line:
    org: str
    number: str
    direction: str
    amount: int
    reference: str
    narrative: str

    @property
    def key(self) -> Key:
        return (self.number, self.direction, self.reference)

    @property
    def signed(self) -> int:
        return self.amount if self.direction == "in" else -self.amount

    def on_statement(self) -> BankTransactionFact:
        return self.fact("statement:generic", self.reference, BIN)

    def by_webhook(self) -> BankTransactionFact:
        return self.fact("sepay", f"SEPAY-{self.reference}", None)

    def fact(self, source: str, external_id: str, bin_code: str | None) -> BankTransactionFact:
        return BankTransactionFact(
            source=source,
            external_id=external_id,
            bin_code=bin_code,
            account_number=self.number,
            direction=self.direction,
            amount=self.amount,
            value_date="2026-12-15",
            narrative=self.narrative,
            reference=self.reference,
        )


def latest(things: list[T], n: int) -> T:
    """The n-th most recent (0: the last)."""
    return things[-1 - n % len(things)]


def key_of(fact: BankTransactionFact) -> Key:
    return (fact.account_number, fact.direction, str(fact.reference))


@dataclass
class Reconciliation:
    core: Run
    requests: list[PaymentRequest]
    lines: list[Line] = field(default_factory=list)
    recorded: set[Key] = field(default_factory=set)
    stated: set[Key] = field(default_factory=set)
    statements: list[tuple[int, list[BankTransactionFact]]] = field(default_factory=list)
    notifications: list[BankTransactionFact] = field(default_factory=list)

    @property
    def app(self) -> DuesLedger:
        return self.core.app

    def new_line(self, account: int, spec: tuple[Any, ...]) -> Line:
        org, number = ACCOUNTS[account]
        kind, *args = spec
        direction, amount, text = "in", 0, "IBFT NGUYEN THI B chuyen tien"
        if kind == "code":
            request = latest(self.requests, args[0])
            amount = request.total if args[1] == "asked" else args[1]
            text = f"MBVCB.4525077405.{request.code} DP 12 2026.CT tu NGUYEN VAN A"
        elif kind == "member":
            code = MEMBERS[args[0] % len(MEMBERS)][0]
            amount, text = args[2], f"IBFT {f'NGUYEN VAN {code}' if args[1] else code} dang phi"
        elif kind == "stray":
            amount = args[0]
        elif kind == "out":
            direction, amount, text = "out", args[0], "Phi dich vu SMS"
        else:  # a reversal cites an earlier incoming line on this account, for its amount
            earlier = [x for x in self.lines if x.number == number and x.direction == "in"]
            if earlier:
                return self.reversal_of(latest(earlier, args[0]))
            direction, amount, text = "out", 1_000 * (args[0] + 1), "CHUYEN TIEN DI"
        return self.add(Line(org, number, direction, amount, "", text))

    def reversal_of(self, original: Line) -> Line:
        text = f"HOAN TRA GD {original.reference}"
        return self.add(Line(original.org, original.number, "out", original.amount, "", text))

    def add(self, line: Line) -> Line:
        """The line with the bank's next reference (unique, so each line is its own key)."""
        line = replace(line, reference=f"FT26349{len(self.lines):05d}")
        self.lines.append(line)
        return line

    def do(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        if kind == "import":
            account, specs = args
            self.import_statement(
                account, [self.new_line(account, s).on_statement() for s in specs]
            )
        elif kind == "import_newest_first":
            account, specs = args
            facts = [self.new_line(account, s).on_statement() for s in specs]
            self.import_statement(account, facts[::-1])
        elif kind == "reimport" and self.statements:
            self.import_statement(*latest(self.statements, args[0]))
        elif kind == "overlap" and self.statements:
            self.overlap(*latest(self.statements, args[0]), args[1])
        elif kind == "webhook":
            self.notify(self.new_line(args[0], args[1]).by_webhook(), args[2])
        elif kind == "notify_again" and self.notifications:
            self.notify(latest(self.notifications, args[0]), 1)
        elif kind == "resolve":
            self.resolve(*args)
        elif kind == "bounce":
            self.bounce(*args)
        elif kind == "confirm":
            self.confirm(args[0])
        elif kind == "core" and args[0] == ("month",):  # the next month, opened
            self.core.do(("next",))
            self.core.do(("open",))
        elif kind == "core":
            self.core.do(args[0])

    def import_statement(self, account: int, facts: list[BankTransactionFact]) -> None:
        fresh = {key_of(f) for f in facts} - self.recorded
        counts = self.app.import_statement(ACCOUNTS[account][0], facts)
        assert (counts["new"], counts["already"]) == (len(fresh), len(facts) - len(fresh))
        self.recorded |= fresh
        self.stated |= {key_of(f) for f in facts}
        self.statements.append((account, facts))

    def overlap(self, account: int, earlier: list[BankTransactionFact], specs: list[Any]) -> None:
        """The second half of an earlier statement, what only a webhook reported, new lines."""
        number = ACCOUNTS[account][1]
        only_notified = [
            x.on_statement()
            for x in self.lines
            if x.number == number and x.key in self.recorded and x.key not in self.stated
        ]
        new = [self.new_line(account, s).on_statement() for s in specs]
        self.import_statement(account, earlier[len(earlier) // 2 :] + only_notified + new)

    def notify(self, fact: BankTransactionFact, times: int) -> None:
        first = key_of(fact) not in self.recorded
        assert self.app.record_bank_transaction(fact)[1] is first
        self.recorded.add(key_of(fact))
        if first:
            self.notifications.append(fact)
        before = self.app.recorder.max_notification_id()
        for _ in range(times - 1):
            assert self.app.record_bank_transaction(fact)[1] is False
        assert self.app.recorder.max_notification_id() == before

    def bounce(self, which: int, by_webhook: bool) -> None:
        """The bank takes back an earlier incoming line (on either account)."""
        incoming = [x for x in self.lines if x.direction == "in"]
        if not incoming:
            return
        line = self.reversal_of(latest(incoming, which))
        if by_webhook:
            self.notify(line.by_webhook(), 1)
        else:
            account = [number for _, number in ACCOUNTS].index(line.number)
            self.import_statement(account, [line.on_statement()])

    def open_items(self) -> list[dict[str, Any]]:
        """Both organisations' open items, in the order their lines came."""
        order = {str(fact_id(x.on_statement())): n for n, x in enumerate(self.lines)}
        items = [i for org, _ in ACCOUNTS for i in self.app.suspense_items(org)]
        return sorted(items, key=lambda i: order[i["transaction"]])

    def resolve(self, which: int, how: str, who: int) -> None:
        items = self.open_items()
        if not items:
            return
        item = latest(items, which)
        choices: dict[str, dict[str, Any]] = {
            "member": {"member": MEMBERS[who][0]},
            "refund": {"refund": True},
            "not_dues": {"not_dues": "Phí ngân hàng"},
        }
        choice = choices[how]
        refused = self.core.refused(lambda: self.app.resolve_suspense(item["id"], **choice))
        # Outgoing money nobody explained can only be marked not dues.
        assert refused == (item["direction"] == "out" and how != "not_dues")

    def confirm(self, which: int) -> None:
        items = [i for i in self.open_items() if i.get("proposal")]
        if not items:
            return
        item = latest(items, which)
        proposal = item["proposal"]
        months = self.app.member_statement(proposal["member"])["months"]
        owed = {m["period"] for m in months if m["outstanding"]}
        refused = self.core.refused(lambda: self.app.confirm_proposal(item["id"]))
        # A proposal goes stale once its months are paid some other way.
        assert refused == (not set(proposal["months"]) <= owed)


def play(app: DuesLedger, steps: list[tuple[Any, ...]]) -> Reconciliation:
    small_ledger(app)
    for org, number in ACCOUNTS:
        app.add_account(org, BIN, number, f"TK {org}", "organisation")
    app.open_month(PERIOD)
    requests = [
        app.member_request("M0"),
        app.member_request("M1"),
        app.batch_request("Bí thư chi bộ", ["M1", "M2"]),  # short: split in proportion
        app.batch_request("Cơ quan", ["M2"], kind="payroll"),  # more than 70,000 is held
    ]
    run = Reconciliation(Run(app, CORE, PERIOD, opened=[PERIOD]), requests)
    for step in steps:
        run.do(step)
    return run


# --- the auditor's checks -------------------------------------------------------------------


def check_bank_accounts(run: Reconciliation, balances: dict[str, int]) -> None:
    expected = {
        f"{org}:assets:bank:{number}": sum(x.signed for x in run.lines if x.number == number)
        for org, number in ACCOUNTS
    }
    moved = {k: v for k, v in balances.items() if ":assets:bank" in k and v}
    assert moved == {k: v for k, v in expected.items() if v}


def check_suspense(run: Reconciliation, balances: dict[str, int]) -> None:
    for org, _ in ACCOUNTS:
        items = run.app.suspense_items(org)
        held = sum(i["amount"] for i in items if i["direction"] == "in")
        flagged = sum(i["amount"] for i in items if i["direction"] == "out")
        assert -balances.get(f"{org}:liabilities:suspense", 0) == held, org
        assert balances.get(f"{org}:assets:unexplained_outflow", 0) == flagged, org


def check_each_line_once(run: Reconciliation) -> None:
    recorded = events_named(run.app, "BankTransaction.Recorded")
    keys = [(e.account_number, e.direction, e.reference) for e in recorded]
    assert sorted(keys) == sorted(x.key for x in run.lines)
    for org, number in ACCOUNTS:
        (report,) = run.app.reconcile(org)["accounts"]
        assert report["lines"] == sum(x.number == number for x in run.lines)
    txs = run.app.load_many([e.originator_id for e in recorded], BankTransaction).values()
    for request in run.requests:
        settled = [
            tx.amount
            for tx in txs
            if tx.matched is not None
            and (tx.matched["how"], tx.matched["target"]) == ("request", request.code)
            and tx.reversed_by is None
        ]
        assert run.app.request_status(request.code)["received"] == sum(settled), request.code


def check_replay_records_nothing(run: Reconciliation) -> None:
    app = run.app
    before = app.recorder.max_notification_id()
    for account, facts in run.statements:
        counts = app.import_statement(ACCOUNTS[account][0], facts)
        assert (counts["new"], counts["already"]) == (0, len(facts))
    for fact in run.notifications:
        assert app.record_bank_transaction(fact)[1] is False
    assert app.recorder.max_notification_id() == before


def check_reconciliation(run: Reconciliation) -> None:
    balances = check_double_entry(run.app)
    check_rolls(run.core, balances)
    check_members(run.core, balances)
    check_bank_accounts(run, balances)
    check_suspense(run, balances)
    check_each_line_once(run)
    check_replay_records_nothing(run)


def check_read_model_reconciles_as_the_log(app: DuesLedger) -> None:
    """`reconcile` from the bank-lines read model (what the CLI and HTTP answer) is the
    ledger's own report, read from the whole log, for every organisation with an account."""
    from projections.reads import Reads

    reads = Reads(app)
    try:
        for org, _ in ACCOUNTS:
            assert reads.reconcile(org) == app.reconcile(org)
    finally:
        reads.close()


# --- fresh ledgers, one per example ---------------------------------------------------------


@contextmanager
def in_memory_with_qr() -> Iterator[DuesLedger]:
    with in_memory() as app:
        app.qr_encoder = VietQREncoder()
        app.bank_directory = BankList()
        yield app


# Found by this property, kept so every run tries it: the payroll request (70,000) is paid
# 100,000; the 30,000 held is resolved (not dues); then the bank takes the 100,000 back.
TAKEN_BACK_AFTER_RESOLVING = [
    ("import", 0, [("code", 0, 100_000)]),
    ("resolve", 0, "not_dues", 0),
    ("import", 0, [("reverse", 0)]),
]

# The bank's reversal recorded before the line it takes back (a day exported newest first,
# then a later statement before an earlier one): the payment is undone all the same.
REVERSAL_FIRST = [
    ("import_newest_first", 0, [("code", 0, "asked"), ("reverse", 0)]),
    ("import_newest_first", 0, [("stray", 55_000), ("reverse", 0)]),
]


class TestNothingIsCountedTwice:
    @settings(EXAMPLES, max_examples=700)
    @given(steps=STEPS)
    @example(steps=TAKEN_BACK_AFTER_RESOLVING)
    @example(steps=REVERSAL_FIRST)
    def test_any_imports_and_notifications_keep_the_books_whole_in_memory(
        self, frozen: object, steps: list[tuple[Any, ...]]
    ) -> None:
        with in_memory_with_qr() as app:
            check_reconciliation(play(app, steps))

    # Each example is a new database: no shrinking here (the in-memory run shrinks).
    @settings(EXAMPLES, max_examples=15, phases=(Phase.explicit, Phase.generate))
    @given(steps=STEPS)
    @example(steps=TAKEN_BACK_AFTER_RESOLVING)
    @example(steps=REVERSAL_FIRST)
    def test_any_imports_and_notifications_keep_the_books_whole_on_storage(
        self, frozen: object, fresh_storage: Factory, steps: list[tuple[Any, ...]]
    ) -> None:
        with fresh_storage() as app:
            check_reconciliation(play(app, steps))
            check_read_model_reconciles_as_the_log(app)


class TestCreditMonthsAndTransfersAmongImports:
    """The same checks, with the core's steps between the bank's: money a reversal takes
    back may by then have paid a month opened since, moved with a transfer, or been
    given back by a cut."""

    @settings(EXAMPLES, max_examples=400)
    @given(steps=WITH_THE_CORE)
    def test_in_memory(self, frozen: object, steps: list[tuple[Any, ...]]) -> None:
        with in_memory_with_qr() as app:
            check_reconciliation(play(app, steps))

    @settings(EXAMPLES, max_examples=10, phases=(Phase.explicit, Phase.generate))
    @given(steps=WITH_THE_CORE)
    def test_on_storage(
        self, frozen: object, fresh_storage: Factory, steps: list[tuple[Any, ...]]
    ) -> None:
        with fresh_storage() as app:
            check_reconciliation(play(app, steps))
            check_read_model_reconciles_as_the_log(app)
