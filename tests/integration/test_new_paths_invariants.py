"""The reconciliation paths of 2026-11-24 mixed in any order: hand-recorded bank payments and spending
before or after their lines, gateway lines without the bank's reference printed later
on a statement, refunds paid by code or by the bank's return, late enrolment, late
payments and reversals in a closed month. After each step the books must stay whole.

A helper's property test (2026-11-24), in the suite at 60 examples on SQLite and 20 on
PostgreSQL; the model below says what each step should do, the checks compare the ledger
with it. It found a hand-recorded payment left uncleared beside the gateway line its
reference named (fixed the same day).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from ledger.app import DuesLedger
from ledger.bank_transaction import fact_id
from ledger.ids import roll_id
from ledger.money import split_retained
from ledger.ports import BankTransactionFact
from ledger.roll import Roll
from projections.reads import Reads
from tests.builders import TREE, member_row, small_ledger, unbalanced_events
from tests.integration.test_invariants import (
    EXAMPLES,
    Run,
    Scenario,
    check_members,
    check_rolls,
    on_postgres,
    on_sqlite,
)

BIN = "970436"
ACCOUNTS = (("HN-BD-01", "1012345678"), ("HN-BD", "1012345679"))
HOME = "HN-BD-01"
DAY = "2026-12-15"
AMOUNTS = (70_000, 100_000, 35_000, 140_000)
SPENDS = (10_000, 20_000, 5_000)
VOUCHER_FORMS = ("CHI VPP {v}", "chi vpp {c}", "{n} mua hang")
# 60 in CI (about 40 s with PostgreSQL's 20); more with NEWPATHS_EXAMPLES (300 and 600
# found nothing more on 2026-11-24 once the claim gap below was fixed)
MAX_EXAMPLES = int(os.environ.get("NEWPATHS_EXAMPLES", "60"))

REF = st.integers(0, 5)
OPS = st.one_of(
    st.tuples(st.just("pay"), REF, st.integers(0, 9), st.integers(0, 4), st.integers(0, 2)),
    st.tuples(
        st.just("line"),
        REF,
        st.sampled_from((0, 0, 0, 1)),
        st.integers(0, 4),
        st.sampled_from(("statement", "webhook", "noref")),
        st.booleans(),
    ),
    st.tuples(st.just("print"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("spend"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(
        st.just("out"),
        st.integers(0, 3),
        st.integers(0, 2),
        st.integers(0, 3),
        st.sampled_from(("statement", "webhook")),
    ),
    st.tuples(
        st.just("resolve"),
        st.integers(0, 3),
        st.sampled_from(("member", "refund", "not_dues", "spending")),
        st.integers(0, 9),
        st.integers(0, 3),
    ),
    st.tuples(st.just("refund_out"), st.integers(0, 2), st.sampled_from(("code", "return"))),
    st.tuples(st.just("reverse"), st.integers(0, 5)),
    st.just(("enrol",)),
    st.just(("open",)),
    st.tuples(st.just("reimport"), st.integers(0, 3)),
    st.tuples(st.just("pay_again"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("spend_again"), st.integers(0, 3)),
    st.tuples(st.just("cash"), st.integers(0, 9), st.integers(0, 3)),
)
STEPS = st.lists(OPS, min_size=3, max_size=25)


def cased(ref: str, case: int) -> str:
    return (ref, ref.lower(), ref[:3].lower() + ref[3:])[case % 3]


@dataclass
class Line:
    number: str
    org: str
    direction: str
    amount: int
    reference: str
    narrative: str
    tx: Any  # the ledger's transaction id
    by_ref: bool  # the ledger knows it under its bank reference
    noref_fact: BankTransactionFact | None = None
    state: str = "held"  # held, payment, member, refund, not_dues, reversed, spending...
    voucher: str | None = None

    @property
    def signed(self) -> int:
        return self.amount if self.direction == "in" else -self.amount

    def fact(self, source: str = "statement:generic") -> BankTransactionFact:
        stated = source.startswith("statement")
        return BankTransactionFact(
            source=source,
            external_id=self.reference if stated else f"SEPAY-{self.number}-{self.reference}",
            bin_code=BIN if stated else None,
            account_number=self.number,
            direction=self.direction,
            amount=self.amount,
            value_date=DAY,
            narrative=self.narrative,
            reference=self.reference,
        )


@dataclass
class Pay:
    member: str
    amount: int
    typed: str
    line: Any = None  # the key of the line that cleared it / it took
    alive: bool = True


@dataclass
class Model:
    app: DuesLedger
    run: Run
    members: list[str]
    lines: dict[tuple[str, str, str], Line] = field(default_factory=dict)
    pays: dict[str, Pay] = field(default_factory=dict)
    spends: dict[str, list[Any]] = field(default_factory=dict)  # voucher -> [amount, cleared]
    sources: list[list[Any]] = field(default_factory=list)  # [member, amount, line key, alive]
    refunds: list[dict[str, Any]] = field(default_factory=list)
    statements: list[tuple[str, list[BankTransactionFact]]] = field(default_factory=list)
    outs: int = 0
    enrolled: int = 0
    opened: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    # -- the bank --------------------------------------------------------------------
    def new_out_ref(self) -> str:
        self.outs += 1
        return f"FT26350{self.outs:05d}"

    def deliver(self, org: str, fact: BankTransactionFact) -> dict[str, Any]:
        if fact.source.startswith("statement"):
            counts = self.app.import_statement(org, [fact])
            self.statements.append((org, [fact]))
            self.reimport_changes_nothing(org, [fact])
            return counts
        _, new = self.app.record_bank_transaction(fact)
        before = self.app.recorder.max_notification_id()
        assert self.app.record_bank_transaction(fact)[1] is False
        assert self.app.recorder.max_notification_id() == before
        return {"new": int(new)}

    def reimport_changes_nothing(self, org: str, facts: list[BankTransactionFact]) -> None:
        before = self.app.recorder.max_notification_id()
        counts = self.app.import_statement(org, facts)
        assert (counts["new"], counts["already"]) == (0, len(facts)), counts
        assert self.app.recorder.max_notification_id() == before, "re-import wrote events"

    def open_items(self, org: str) -> list[dict[str, Any]]:
        return self.app.suspense_items(org)

    def item_of(self, line: Line) -> dict[str, Any] | None:
        for item in self.open_items(line.org):
            if item["transaction"] == str(line.tx):
                return item
        return None

    def line_by_tx(self, tx: str) -> Line | None:
        for x in self.lines.values():
            if str(x.tx) == tx:
                return x
        return None

    def uncleared_pay(self, reference: str, amount: int) -> Pay | None:
        p = self.pays.get(reference.upper())
        if p is not None and p.line is None and p.alive and p.amount == amount:
            return p
        return None

    def arrives_with_ref(self, line: Line) -> None:
        """A line now known by its reference on the home account: it clears a payment."""
        if line.org != HOME or line.direction != "in" or line.state != "held":
            return
        p = self.uncleared_pay(line.reference, line.amount)
        if p is not None:
            p.line = (line.number, line.direction, line.reference)
            line.state = "payment"
            for s in self.sources:
                if s[4] is p:
                    s[2] = p.line

    def line(self, ref_i: int, account: int, amt_i: int, via: str, named: bool) -> None:
        org, number = ACCOUNTS[account]
        reference = f"FT2634900{ref_i:04d}"
        key = (number, "in", reference)
        if key in self.lines:  # the same line again
            x = self.lines[key]
            if not x.by_ref:
                return self.print(x, False)
            counts = self.deliver(org, x.fact("statement:generic" if via != "webhook" else "sepay"))
            assert counts["new"] == 0
            return None
        p = self.pays.get(reference)
        amount = p.amount if (amt_i == 0 and p is not None) else AMOUNTS[amt_i % len(AMOUNTS)]
        text = f"NGUYEN VAN M{ref_i % 3} NOP DANG PHI" if named else "IBFT NGUYEN THI B chuyen tien"
        text = f"{text} {ref_i}{account}"
        if via == "noref":
            fact = BankTransactionFact(
                source="sepay",
                external_id=f"SEPAY-NR-{number}-{reference}",
                bin_code=None,
                account_number=number,
                direction="in",
                amount=amount,
                value_date=DAY,
                narrative=text,
                reference=None,
            )
            line = Line(number, org, "in", amount, reference, text, fact_id(fact), False, fact)
            self.lines[key] = line
            self.deliver(org, fact)
            return None
        line = Line(number, org, "in", amount, reference, text, None, True)
        fact = line.fact("statement:generic" if via == "statement" else "sepay")
        line.tx = fact_id(fact)
        self.lines[key] = line
        counts = self.deliver(org, fact)
        assert counts["new"] == 1
        self.arrives_with_ref(line)
        return None

    def print(self, line: Line, with_other: bool) -> None:
        """The statement prints a gateway's line (reported without reference) with it."""
        facts = [line.fact()]
        if with_other:
            other = Line(
                line.number, line.org, "in", 5_000, self.new_out_ref(), "LAI TIEN GUI", None, True
            )
            f = other.fact()
            other.tx = fact_id(f)
            self.lines[(other.number, "in", other.reference)] = other
            facts.append(f)
        counts = self.app.import_statement(line.org, facts)
        self.statements.append((line.org, facts))
        assert counts["new"] == len(facts) - 1, counts
        line.by_ref = True
        self.reimport_changes_nothing(line.org, facts)
        # the claimed line is the hand payment its reference names (a gap this test found)
        self.arrives_with_ref(line)

    # -- the treasurer -----------------------------------------------------------------
    def pay(self, ref_i: int, who: int, amt_i: int, case: int) -> None:
        reference = f"FT2634900{ref_i:04d}"
        member = self.members[who % len(self.members)]
        earlier = self.pays.get(reference)
        if earlier is not None:
            return self.pay_again(earlier, case)
        held = self.lines.get((ACCOUNTS[0][1], "in", reference))
        amount = held.amount if (amt_i == 0 and held is not None) else AMOUNTS[amt_i % 4]
        p = Pay(member, amount, cased(reference, case))
        paid = self.app.pay(member, amount, channel="bank", reference=p.typed)
        assert not paid.duplicate
        self.pays[reference] = p
        src = [member, amount, None, True, p]
        self.sources.append(src)
        if held is not None and held.by_ref and held.amount == amount and held.state == "held":
            # recorded after its line: the payment takes the held line
            p.line = (held.number, "in", reference)
            src[2] = p.line
            held.state = "member"
        return None

    def pay_again(self, p: Pay, case: int) -> None:
        before = self.app.recorder.max_notification_id()
        again = self.app.pay(p.member, p.amount, channel="bank", reference=cased(p.typed, case))
        assert again.duplicate
        assert self.app.recorder.max_notification_id() == before

    def spend(self, v: int, amt_i: int) -> None:
        voucher = f"UNC-000{v + 1}"
        amount = SPENDS[amt_i % len(SPENDS)]
        if voucher in self.spends:
            return self.spend_again_of(voucher)
        if self.run.refused(lambda: self.app.spend(HOME, amount, "Chi VPP", voucher, "bank")):
            return None
        entry = [amount, False]
        self.spends[voucher] = entry
        for item in self.open_items(HOME):  # a flagged line printing it, the oldest
            x = self.line_by_tx(item["transaction"])
            if (
                item["direction"] == "out"
                and x is not None
                and x.voucher == voucher
                and x.amount == amount
            ):
                entry[1] = True
                x.state = "spending"
                break
        return None

    def spend_again_of(self, voucher: str) -> None:
        before = self.app.recorder.max_notification_id()
        amount = self.spends[voucher][0]
        assert self.app.spend(HOME, amount, "Chi VPP", voucher, "bank") is False
        assert self.app.recorder.max_notification_id() == before

    def out(self, v: int, form: int, amt_i: int, via: str) -> None:
        voucher = f"UNC-000{v + 1}"
        s = self.spends.get(voucher)
        amount = s[0] if (amt_i == 0 and s is not None) else SPENDS[amt_i % len(SPENDS)] + 1_000
        text = VOUCHER_FORMS[form].format(v=voucher, c=f"unc.000{v + 1}", n=f"UNC000{v + 1}")
        line = Line(ACCOUNTS[0][1], HOME, "out", amount, self.new_out_ref(), text, None, True)
        line.voucher = voucher
        fact = line.fact("statement:generic" if via == "statement" else "sepay")
        line.tx = fact_id(fact)
        self.lines[(line.number, "out", line.reference)] = line
        self.deliver(HOME, fact)
        if s is not None and not s[1] and s[0] == amount:
            s[1] = True
            line.state = "spending"
        else:
            line.state = "flagged"

    def resolve(self, which: int, how: str, who: int, v: int) -> None:
        items = [i for org, _ in ACCOUNTS for i in self.open_items(org)]
        if not items:
            return
        item = items[-1 - which % len(items)]
        x = self.line_by_tx(item["transaction"])
        assert x is not None, item
        choice: dict[str, Any]
        if how == "member":
            if x.org != HOME:
                return
            choice = {"member": self.members[who % len(self.members)]}
        elif how == "refund":
            choice = {"refund": True}
        elif how == "not_dues":
            choice = {"not_dues": "Phí ngân hàng"}
        else:
            choice = {"spending": f"UNC-000{v + 1}"}
        result: dict[str, Any] = {}

        def go() -> None:
            result.update(self.app.resolve_suspense(item["id"], **choice))

        refused = self.run.refused(go)
        if item["direction"] == "out":
            s = self.spends.get(choice.get("spending", ""))
            ok = how == "not_dues" or (
                how == "spending" and s is not None and not s[1] and s[0] == x.amount
            )
            assert refused == (not ok), (how, choice, item)
            if not refused:
                x.state = how
                if how == "spending":
                    assert s is not None
                    s[1] = True
            return
        assert refused == (how == "spending"), (how, item)
        if refused:
            return
        x.state = how
        if how == "member":
            self.sources.append(
                [choice["member"], x.amount, (x.number, "in", x.reference), True, None]
            )
        elif how == "refund":
            self.refunds.append(
                {"code": result["reference"], "line": x, "paid": False, "amount": x.amount}
            )

    def refund_out(self, k: int, how: str) -> None:
        if not self.refunds:
            return
        r = self.refunds[-1 - k % len(self.refunds)]
        x: Line = r["line"]
        text = f"HOAN TRA {r['code']}" if how == "code" else f"HOAN TRA GD {x.reference}"
        out = Line(x.number, x.org, "out", x.amount, self.new_out_ref(), text, None, True)
        fact = out.fact()
        out.tx = fact_id(fact)
        self.lines[(out.number, "out", out.reference)] = out
        self.deliver(x.org, fact)
        if how == "code":
            out.state = "flagged" if r["paid"] else "refund_paid"
            r["paid"] = True
        elif x.by_ref and x.state == "refund" and not r["paid"]:
            out.state = "reversal"
            x.state = "reversed"
            r["paid"] = True
        else:
            out.state = "flagged"

    def reverse(self, k: int) -> None:
        incoming = [x for x in self.lines.values() if x.direction == "in" and x.state != "reversed"]
        if not incoming:
            return
        x = incoming[-1 - k % len(incoming)]
        text = f"HOAN TRA GD {x.reference}"
        out = Line(x.number, x.org, "out", x.amount, self.new_out_ref(), text, None, True)
        fact = out.fact()
        out.tx = fact_id(fact)
        self.lines[(out.number, "out", out.reference)] = out
        self.deliver(x.org, fact)
        undone = x.by_ref and x.state in ("held", "member", "refund")
        if x.state == "refund":
            r = next(r for r in self.refunds if r["line"] is x)
            undone = not r["paid"]
            if undone:
                r["paid"] = True
        # a line that cleared a payment recorded by hand: flagged (a documented known limit)
        if undone:
            if x.state == "member":
                for s in self.sources:
                    if s[2] == (x.number, "in", x.reference):
                        s[3] = False
            x.state = "reversed"
            out.state = "reversal"
        else:
            out.state = "flagged"

    def enrol(self) -> None:
        self.enrolled += 1
        code = f"N{self.enrolled}"
        row = member_row(code, HOME, joined="2026-12-05")
        self.app.import_members([(2, row)])
        self.run.scenario.members.append((row, None, 0))
        self.members.append(code)

    def open(self) -> None:
        if len(self.opened) >= 3:
            return
        nxt = {"2026-12": "2027-01", "2027-01": "2027-02"}[self.opened[-1]]
        self.app.open_month(nxt)
        self.opened.append(nxt)
        self.run.opened.append(nxt)

    def cash(self, who: int, amt_i: int) -> None:
        member = self.members[who % len(self.members)]
        amount = AMOUNTS[amt_i % 4]
        self.app.receive_cash(member, amount, f"BL-{len(self.sources)}")
        self.sources.append([member, amount, None, True, None])

    def do(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        self.log.append(repr(step))
        if kind == "pay":
            self.pay(*args)
        elif kind == "line":
            self.line(*args)
        elif kind == "print":
            waiting = [x for x in self.lines.values() if not x.by_ref]
            if waiting:
                self.print(waiting[-1 - args[0] % len(waiting)], args[1])
        elif kind == "spend":
            self.spend(*args)
        elif kind == "out":
            self.out(*args)
        elif kind == "resolve":
            self.resolve(*args)
        elif kind == "refund_out":
            self.refund_out(*args)
        elif kind == "reverse":
            self.reverse(*args)
        elif kind == "enrol":
            self.enrol()
        elif kind == "open":
            self.open()
        elif kind == "reimport" and self.statements:
            org, facts = self.statements[-1 - args[0] % len(self.statements)]
            self.reimport_changes_nothing(org, facts)
        elif kind == "pay_again" and self.pays:
            ps = list(self.pays.values())
            self.pay_again(ps[-1 - args[0] % len(ps)], args[1])
        elif kind == "spend_again" and self.spends:
            vs = list(self.spends)
            self.spend_again_of(vs[-1 - args[0] % len(vs)])
        elif kind == "cash":
            self.cash(*args)


# --- the checks ----------------------------------------------------------------------


def check(m: Model, reads: Reads) -> None:
    app = m.app
    assert unbalanced_events(app) == []
    balances = app.account_balances()
    assert sum(balances.values()) == 0
    # each account holds the signed sum of its distinct lines
    for org, number in ACCOUNTS:
        want = sum(x.signed for x in m.lines.values() if x.number == number)
        assert balances.get(f"{org}:assets:bank:{number}", 0) == want, (org, number)
    # uncleared bank money: the hand payments and spending whose lines have not come
    uncleared = sum(p.amount for p in m.pays.values() if p.line is None and p.alive)
    uncleared -= sum(a for a, cleared in m.spends.values() if not cleared)
    assert balances.get(f"{HOME}:assets:bank", 0) == uncleared, "uncleared assets:bank"
    assert balances.get("HN-BD:assets:bank", 0) == 0
    # suspense and flagged outflow are the open items
    for org, _ in ACCOUNTS:
        items = app.suspense_items(org)
        held = sum(i["amount"] for i in items if i["direction"] == "in")
        flagged = sum(i["amount"] for i in items if i["direction"] == "out")
        assert -balances.get(f"{org}:liabilities:suspense", 0) == held, org
        assert balances.get(f"{org}:assets:unexplained_outflow", 0) == flagged, org
        owed = sum(r["amount"] for r in m.refunds if r["line"].org == org and not r["paid"])
        assert -balances.get(f"{org}:liabilities:refunds_due", 0) == owed, ("refunds", org)
    # what the model expects in suspense: lines held, flagged
    want_held = sorted(
        (x.org, x.amount) for x in m.lines.values() if x.state in ("held",) and x.direction == "in"
    )
    got_held = sorted(
        (org, i["amount"])
        for org, _ in ACCOUNTS
        for i in app.suspense_items(org)
        if i["direction"] == "in"
    )
    assert got_held == want_held, "held items"
    want_flag = sorted((x.org, x.amount) for x in m.lines.values() if x.state == "flagged")
    got_flag = sorted(
        (org, i["amount"])
        for org, _ in ACCOUNTS
        for i in app.suspense_items(org)
        if i["direction"] == "out"
    )
    assert got_flag == want_flag, "flagged items"
    # nothing counted twice: each member's paid + credit is the money received for them
    for code in m.members:
        statement = app.member_statement(code)
        got = statement["paid"] + statement["credit"]
        want = sum(s[1] for s in m.sources if s[0] == code and s[3])
        assert got == want, (code, got, want)
    check_rolls(m.run, balances)
    check_members(m.run, balances)
    # a closed month's shares stay the split of all it collected
    for branch in ("HN-BD-01", "HN-BD-02"):
        for period in m.opened:
            roll = app.get_or_none(roll_id(branch, period), Roll)
            if roll is not None and roll.closed:
                split = split_retained(roll.collected, Decimal(str(roll.retained_percent)))
                assert (roll.retained, roll.payable) == split, (branch, period)
    # read models agree with the core
    for code in m.members:
        want_s, got_s = app.member_statement(code), reads.member_statement(code)
        for key in ("assessed", "paid", "outstanding", "credit"):
            assert got_s[key] == want_s[key], (code, key)
        assert [(x["period"], x["paid"]) for x in got_s["months"]] == [
            (x["period"], x["paid"]) for x in want_s["months"]
        ], code
    for org in ("HN-BD-01", "HN-BD-02", "HN-BD"):
        for period in m.opened:
            core, read = app.balance(org, period), reads.balance(org, period)
            for key in ("collected", "outstanding", "retained", "payable_to_parent"):
                assert read[key] == core[key], (org, period, key)
        # the core's `spent` is the organisation's whole spending, whatever the month
        assert reads.balance(org)["spent"] == app.balance(org)["spent"], org


def setup(app: DuesLedger) -> Model:
    small_ledger(app)
    for org, number in ACCOUNTS:
        app.add_account(org, BIN, number, f"TK {org}", "organisation")
    app.open_month("2026-12")
    scenario = Scenario(
        TREE,
        [(member_row(f"M{i}", "HN-BD-01" if i < 3 else "HN-BD-02"), None, 0) for i in range(5)],
        "2026-12",
        [],
    )
    run = Run(app, scenario, "2026-12", opened=["2026-12"])
    m = Model(app, run, ["M0", "M1", "M2"], opened=["2026-12"])
    m.cash(0, 0)  # M0 and M1 pay December in cash; M2 owes a closed month
    m.cash(1, 0)
    app.close_month("2026-12", HOME)
    return m


def play(app: DuesLedger, steps: list[tuple[Any, ...]]) -> Model:
    m = setup(app)
    reads = Reads(app)
    try:
        check(m, reads)
        for step in steps:
            try:
                m.do(step)
                check(m, reads)
            except AssertionError as e:
                raise AssertionError(f"{e}\nsteps so far: {m.log}") from e
    finally:
        reads.close()
    return m


class TestNewPaths:
    @settings(EXAMPLES, max_examples=MAX_EXAMPLES)
    @given(steps=STEPS)
    def test_on_sqlite(self, frozen: object, tmp_path: Path, steps: list[Any]) -> None:
        with on_sqlite(tmp_path) as app:
            play(app, steps)

    @settings(EXAMPLES, max_examples=20, phases=(Phase.explicit, Phase.generate))
    @given(steps=STEPS)
    def test_on_postgres(self, frozen: object, pg_ready: None, steps: list[Any]) -> None:
        with on_postgres() as app:
            play(app, steps)
