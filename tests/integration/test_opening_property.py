"""The books' bank balance is the bank's, whichever of its lines came first and how.

The bank's true history of one account: a balance before the 1st of December 2026, then
a few lines a day (in or out, money nobody explains) to the 14th (the frozen clock's
today is the 15th). The treasurer imports statements that print balances, day-aligned
windows that together cover every day from some day D to the 14th; the ledger also hears
of other lines: a gateway's notifications of any lines, before D or after it (each with
the bank's reference, so the statement's line and the gateway's are one), and perhaps a
statement without a balance column covering days before D. Everything is played in a
drawn order. Then:

- the account's balance in the books (`ORG:assets:bank:NUMBER`) is the bank's at the end;
- `reconcile` compares the last statement's closing with the ledger's balance on that
  day and finds no difference;
- `before_opening` is what the ledger holds of the lines dated before the opening's day.

Before the fifth session of 2026-11-24, a line the books held dated before the opening
was counted twice (in the printed opening and as a line): found by a helper's check, and
by this property on its first run against the older code. Most examples run in memory; a
few run on SQLite and PostgreSQL, each in its own new database or schema.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from ledger.app import DuesLedger
from ledger.ports import BankTransactionFact
from tests.builders import small_ledger
from tests.integration.test_import_order import (  # the same account, and storages
    BANK,
    BIN,
    NUMBER,
    ORG,
    LedgerFactory,
)
from tests.integration.test_invariants import (
    EXAMPLES,
    check_double_entry,
    in_memory,
)

LAST_DAY = 14


@dataclass(frozen=True)
class Line:
    reference: str
    day: int
    signed: int
    balance: int  # as the bank prints it after the line

    def fact(self, how: str) -> BankTransactionFact:
        """`how`: "printed" (a statement with balances), "bare" (one without), "gateway"."""
        gateway = how == "gateway"
        return BankTransactionFact(
            source="sepay" if gateway else "statement:generic",
            external_id=f"SEPAY-{self.reference}" if gateway else self.reference,
            bin_code=None if gateway else BIN,
            account_number=NUMBER,
            direction="in" if self.signed > 0 else "out",
            amount=abs(self.signed),
            value_date=f"2026-12-{self.day:02d}",
            narrative="IBFT CHUYEN TIEN" if self.signed > 0 else "PHI DICH VU",
            reference=self.reference,
            balance=self.balance if how == "printed" else None,
        )


@dataclass(frozen=True)
class History:
    start: int  # the balance before the first line
    lines: list[Line]
    first: int  # D: the first day statements with balances cover
    cuts: list[int]  # the days (after D) where a new statement window starts
    heard: list[bool]  # per line: also a gateway's notification
    bare: bool  # the lines before D that no gateway told: a statement without balances
    order: list[int]  # the files, in the order played


@st.composite
def histories(draw: st.DrawFn) -> History:
    start = draw(st.integers(0, 5_000)) * 1_000
    per_day = draw(st.lists(st.integers(0, 3), min_size=LAST_DAY, max_size=LAST_DAY))
    lines: list[Line] = []
    balance = start
    for day, count in enumerate(per_day, start=1):
        for _ in range(count):
            signed = draw(st.integers(1, 500)) * 1_000 * draw(st.sampled_from((1, 1, -1)))
            balance += signed
            lines.append(Line(f"FT26{day:02d}{len(lines):05d}", day, signed, balance))
    days = sorted({x.day for x in lines})
    if not days:
        lines.append(Line("FT260100000", 1, 10_000, start + 10_000))
        days = [1]
    first = draw(st.sampled_from(days))
    later = [d for d in days if d > first]
    cuts = sorted(set(draw(st.lists(st.sampled_from(later), max_size=3)))) if later else []
    heard = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    files = len(cuts) + 3  # the windows, the gateway's, the statement without balances
    return History(
        start=start,
        lines=lines,
        first=first,
        cuts=cuts,
        heard=heard,
        bare=draw(st.booleans()),
        order=draw(st.permutations(range(files))),
    )


def files_of(h: History) -> list[tuple[str, list[Line]]]:
    """The windows with balances (one per cut), the gateway's lines, the bare statement."""
    edges = [h.first, *h.cuts, LAST_DAY + 1]
    windows = [("printed", [x for x in h.lines if a <= x.day < b]) for a, b in pairwise(edges)]
    told = [x for x, heard in zip(h.lines, h.heard, strict=True) if heard]
    unknown_before = [x for x in h.lines if x.day < h.first and x not in told]
    bare = unknown_before if h.bare else []
    return [*windows, ("gateway", told), ("bare", bare)]


def play(app: DuesLedger, h: History) -> None:
    small_ledger(app)
    app.add_account(ORG, BIN, NUMBER, "CHI BO KHU PHO 1", "organisation")
    app.open_month("2026-12")
    files = files_of(h)
    for n in h.order:
        how, lines = files[n]
        if not lines:
            continue
        if how == "gateway":
            for x in lines:
                app.record_bank_transaction(x.fact("gateway"))
        elif how == "bare":
            app.import_statement(ORG, [x.fact("bare") for x in lines])
        else:
            app.import_statement(
                ORG,
                [x.fact("printed") for x in lines],
                opening_balance=lines[0].balance - lines[0].signed,
                closing_balance=lines[-1].balance,
            )


def check(app: DuesLedger, h: History) -> None:
    balances = check_double_entry(app)
    assert balances.get(BANK, 0) == h.lines[-1].balance  # the bank's, at the end
    [report] = [a for a in app.reconcile(ORG)["accounts"] if a["account"] == NUMBER]
    covered = [x for x in h.lines if x.day >= h.first]
    assert report["opening"]["on"] == f"2026-12-{covered[0].day:02d}"
    assert report["opening"]["amount"] == covered[0].balance - covered[0].signed
    files = files_of(h)
    known = {x.reference for how, lines in files if how != "printed" for x in lines}
    early = [x for x in h.lines if x.day < covered[0].day and x.reference in known]
    assert report["before_opening"] == sum(x.signed for x in early)
    assert (report["statement_closing"], report["difference"]) == (h.lines[-1].balance, 0)


def check_history(factory: LedgerFactory, h: History, reads: bool = False) -> None:
    with factory() as app:
        play(app, h)
        check(app, h)
        if reads:  # what the CLI and the HTTP API answer: the read models'
            from projections.reads import Reads

            answer = Reads(app)
            try:
                assert answer.reconcile(ORG) == app.reconcile(ORG)
            finally:
                answer.close()


# The helper's case: a gateway's line of the 13th, the statement from the 14th.
A_GATEWAY_LINE_BEFORE_THE_STATEMENT = History(
    start=1_000_000,
    lines=[
        Line("FT261300000", 13, 20_000, 1_020_000),
        Line("FT261400001", 14, 55_000, 1_075_000),
    ],
    first=14,
    cuts=[],
    heard=[True, False],
    bare=False,
    order=[0, 1, 2],
)


class TestTheBooksHoldTheBanksBalance:
    @settings(EXAMPLES, max_examples=150)
    @given(h=histories())
    def test_in_memory(self, frozen: object, h: History) -> None:
        check_history(in_memory, h)

    def test_the_helpers_case_in_either_order(self, frozen: object) -> None:
        for order in ([0, 1, 2], [1, 0, 2]):
            check_history(in_memory, _with(A_GATEWAY_LINE_BEFORE_THE_STATEMENT, order=order))

    # Each example is a new database: no shrinking here (the in-memory run shrinks).
    @settings(EXAMPLES, max_examples=3, phases=(Phase.explicit, Phase.generate))
    @given(h=histories())
    def test_on_storage(self, frozen: object, fresh_storage: LedgerFactory, h: History) -> None:
        check_history(fresh_storage, h, reads=True)


def _with(h: History, **changes: Any) -> History:
    return replace(h, **changes)
