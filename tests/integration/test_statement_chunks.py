"""A statement's chunk records one event per roll and per register, not one per line, and
each matched line as one event.

`import_statement` batches the payments of each chunk: each roll gets one
`PaymentsApplied`, each register one `PaymentsRecorded` (the usual singular
event where a chunk holds one payment for it). The register takes each payment
at once (the next line reads what is still owed) and records the event without
applying it again (`ledger.batching`); so these tests read the aggregates back
from their events alone, and ask the read models, the member statements and the
receipts list what the line-by-line events would have told them.

Runs on SQLite and PostgreSQL (the `ledger` fixture). HN-BD-01 holds M0, M1, M2,
each owing 70,000 đ for 2026-12.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from api.http.queries import receipts
from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id
from ledger.ids import register_id, roll_id
from ledger.payment_request import PaymentRequest
from projections.reads import Reads
from projections.replay import replay
from tests.builders import month_of
from tests.integration.test_read_models import core_balances, read_balances, same, statements
from tests.integration.test_reconciliation import (
    books,
    line,
    read_model_report,
    statement_line,
)

BRANCH = "HN-BD-01"
MONTH = "2026-12"
CODES = ["M0", "M1", "M2"]


def topics(app: DuesLedger, aggregate_id: Any) -> list[str]:
    """The event classes of one aggregate's stored events, in order (after the first)."""
    return [s.topic.rsplit(".", 1)[1] for s in app.recorder.select_events(aggregate_id)][1:]


def from_events(app: DuesLedger, aggregate_id: Any) -> Any:
    """The aggregate as its stored events alone make it (no snapshot)."""
    aggregate = None
    for e in app.events.get(aggregate_id):
        aggregate = e.mutate(aggregate)
    return aggregate


def state(aggregate: Any) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(aggregate).items() if k != "_pending_events"}


class Saved:
    """What the import held in memory for each aggregate as it saved it: a batched
    aggregate applies its changes as they come and records them later, so its state
    runs ahead of its events until the save; the log must replay to this state."""

    def __init__(self, app: DuesLedger) -> None:
        self.states: dict[Any, dict[str, Any]] = {}
        self.save = app.save

    def __call__(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = self.save(*objs, **kwargs)
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.states[obj.id] = state(obj)
        return recordings

    def replay_agrees(self, app: DuesLedger, *ids: Any) -> None:
        for aggregate_id in ids:
            assert aggregate_id in self.states, aggregate_id
            assert state(from_events(app, aggregate_id)) == self.states[aggregate_id]


@pytest.fixture
def saved(ledger: DuesLedger, monkeypatch: pytest.MonkeyPatch) -> Saved:
    spy = Saved(ledger)
    monkeypatch.setattr(ledger, "save", spy)
    return spy


def requests(app: DuesLedger) -> dict[str, PaymentRequest]:
    return {m: app.member_request(m) for m in CODES}


def agree(app: DuesLedger) -> None:
    """The read models say what the aggregates say, and replaying the log says so too."""
    reads = Reads(app)
    try:
        core = core_balances(app, [BRANCH, "HN-BD"])
        same(read_balances(reads, list(core)), core)
        same(statements(reads, CODES), statements(app, CODES))
        report = replay(app, reads.models)
        assert report.ok, report.differences[:5]
    finally:
        reads.close()
    read_model_report(app, BRANCH)  # the bank-lines model reconciles as the log does


def test_a_chunk_records_one_event_per_roll_and_per_register(
    ledger: DuesLedger, saved: Saved
) -> None:
    """Two chunks of two lines; M1 pays part in the first and the rest in the second, which
    must read what the first left owed (a register that applied a payment twice in memory
    would send the 20,000 to credit)."""
    app = books(ledger)
    asked = requests(app)
    lines = [
        statement_line(1, 70_000, f"MBVCB.4525077405.{asked['M0'].code} DP 12 2026"),
        statement_line(2, 50_000, f"IBFT {asked['M1'].code}"),
        statement_line(3, 100_000, f"{asked['M2'].code} DONG DANG PHI"),
        statement_line(4, 20_000, f"IBFT {asked['M1'].code} LAN 2"),
    ]
    counts = app.import_statement(BRANCH, lines, chunk=2)
    assert (counts["new"], counts["matched"]) == (4, 4)
    # each line is one event: recorded with its match (`fold`), not then matched
    for fact in lines:
        [only] = list(app.events.get(fact_id(fact)))
        assert type(only).__name__ == "Recorded" and only.matched["how"] == "request"
        line_now = app.get_or_none(fact_id(fact), BankTransaction)
        assert line_now is not None and line_now.matched == only.matched

    roll, register = roll_id(BRANCH, MONTH), register_id(BRANCH)
    assert topics(app, roll)[-2:] == ["PaymentsApplied", "PaymentsApplied"]
    assert "PaymentApplied" not in topics(app, roll)
    assert topics(app, register)[-2:] == ["PaymentsRecorded", "PaymentsRecorded"]
    assert "PaymentRecorded" not in topics(app, register)
    chunks = [e for e in app.events.get(roll) if type(e).__name__ == "PaymentsApplied"]
    assert [(p[0], p[1]) for e in chunks for p in e.payments] == [
        ("M0", 70_000),
        ("M1", 50_000),
        ("M2", 70_000),
        ("M1", 20_000),
    ]

    # the events alone give the state the import left (the register took each payment
    # as it came; the stored event must replay to the same)
    saved.replay_agrees(app, register, roll, *(fact_id(f) for f in lines))
    stored = from_events(app, register)
    assert [stored.members[m]["unpaid"] for m in CODES] == [[], [], []]
    assert [stored.members[m]["credit"] for m in CODES] == [0, 0, 30_000]
    assert {m: from_events(app, roll).lines[m]["paid"] for m in CODES} == dict.fromkeys(
        CODES, 70_000
    )
    for member in CODES:
        month = month_of(app, member, MONTH)
        assert (month["paid"], month["outstanding"]) == (70_000, 0)
    assert [r["amount"] for r in receipts(app, "M1")] == [50_000, 20_000]
    agree(app)


def test_a_reversal_in_the_same_chunk_comes_after_the_payments_it_undoes(
    ledger: DuesLedger, saved: Saved
) -> None:
    """The bank takes M0's transfer back further down the same statement: the payments
    batched so far are recorded first, then the reversal, then the rest of the chunk."""
    app = books(ledger)
    asked = requests(app)
    paid = statement_line(1, 70_000, f"IBFT {asked['M0'].code}")
    counts = app.import_statement(
        BRANCH,
        [
            paid,
            statement_line(2, 70_000, f"IBFT {asked['M1'].code}"),
            statement_line(3, 70_000, f"TRA SOAT HOAN TIEN GD {paid.reference}", "out"),
            statement_line(4, 70_000, f"IBFT {asked['M2'].code}"),
        ],
    )
    assert (counts["new"], counts["matched"], counts["cleared"], counts["reversed"]) == (4, 3, 0, 1)

    roll, register = roll_id(BRANCH, MONTH), register_id(BRANCH)
    assert topics(app, roll)[-3:] == ["PaymentsApplied", "PaymentReversed", "PaymentApplied"]
    assert topics(app, register)[-3:] == ["PaymentsRecorded", "PaymentReversed", "PaymentRecorded"]
    saved.replay_agrees(app, register, roll, asked["M0"].id, fact_id(paid))
    assert [month_of(app, m, MONTH)["outstanding"] for m in CODES] == [70_000, 0, 0]
    assert app.request_status(asked["M0"].code)["status"] == "open"
    agree(app)


def test_a_webhook_still_records_one_event_per_payment(ledger: DuesLedger) -> None:
    """Batching is the statement import's: a gateway's line is its own command, and its
    roll and register record the usual singular events."""
    app = books(ledger)
    asked = requests(app)
    app.record_bank_transaction(line(70_000, f"IBFT {asked['M0'].code}"))
    app.record_bank_transaction(line(70_000, f"IBFT {asked['M1'].code}"))
    assert topics(app, roll_id(BRANCH, MONTH))[-2:] == ["PaymentApplied", "PaymentApplied"]
    assert topics(app, register_id(BRANCH))[-2:] == ["PaymentRecorded", "PaymentRecorded"]
    agree(app)


def test_payments_into_a_closed_month_are_allocated_each_and_named_in_the_journal(
    ledger: DuesLedger,
) -> None:
    """After closing, each payment of a chunk is allocated at once (retained and payable
    split per payment, so each split stays exact); the journal's one transaction for
    the roll's `PaymentsApplied` names the members it paid."""
    import io

    from api.journal import write_journal

    app = books(ledger)
    asked = requests(app)
    app.receive_cash("M2", 70_000, "BL-M2")
    app.close_month(MONTH, BRANCH)
    before = app.balance(BRANCH, MONTH)
    app.import_statement(
        BRANCH,
        [
            statement_line(1, 70_000, f"IBFT {asked['M0'].code}"),
            statement_line(2, 70_000, f"IBFT {asked['M1'].code}"),
        ],
    )
    [chunk] = [e for e in app.events.get(roll_id(BRANCH, MONTH)) if hasattr(e, "payments")]
    assert [(p[0], p[3] + p[4]) for p in chunk.payments] == [("M0", 70_000), ("M1", 70_000)]
    after = app.balance(BRANCH, MONTH)
    assert after["retained"] - before["retained"] == sum(p[3] for p in chunk.payments)
    out = io.StringIO()
    write_journal(app, out)
    [entry] = [t for t in out.getvalue().split("\n\n") if "M0 M1" in t]
    assert "dues_assessed" in entry and "payable_to_parent" in entry
    agree(app)


def test_a_request_paid_twice_in_a_chunk_records_one_event(
    ledger: DuesLedger, saved: Saved
) -> None:
    """M1 pays in two transfers on the same statement: the request takes the first at once
    (the second's status and what is still wanted read it) and records both as one
    `TransfersReceived`; its events alone give the same request."""
    app = books(ledger)
    asked = requests(app)
    first = statement_line(1, 50_000, f"IBFT {asked['M1'].code}")
    second = statement_line(2, 20_000, f"IBFT {asked['M1'].code} LAN 2")
    app.import_statement(BRANCH, [first, second, statement_line(3, 70_000, asked["M0"].code)])
    request = asked["M1"].id
    assert topics(app, request)[-1:] == ["TransfersReceived"]
    assert "MoneyReceived" not in topics(app, request)
    # M0's request took one transfer: the usual event, as a webhook's would be
    assert topics(app, asked["M0"].id)[-1:] == ["MoneyReceived"]
    saved.replay_agrees(app, request, asked["M0"].id, register_id(BRANCH))
    stored = from_events(app, request)
    assert [t["transaction_id"] for t in stored.transfers] == [
        str(fact_id(first)),
        str(fact_id(second)),
    ]
    assert [t["status_at_receipt"] for t in stored.transfers] == ["open", "partly_paid"]
    status = app.request_status(asked["M1"].code)
    assert (status["status"], status["received"]) == ("paid", 70_000)
    agree(app)


def test_a_reversal_in_the_chunk_follows_the_transfers_taken_before_it(
    ledger: DuesLedger, saved: Saved
) -> None:
    """The bank takes M1's second transfer back further down the same statement: the
    request records the transfers taken so far, then the reversal."""
    app = books(ledger)
    asked = requests(app)
    second = statement_line(2, 20_000, f"IBFT {asked['M1'].code} LAN 2")
    counts = app.import_statement(
        BRANCH,
        [
            statement_line(1, 50_000, f"IBFT {asked['M1'].code}"),
            second,
            statement_line(3, 20_000, f"TRA SOAT HOAN TIEN GD {second.reference}", "out"),
        ],
    )
    assert (counts["matched"], counts["cleared"], counts["reversed"]) == (2, 0, 1)
    request = asked["M1"].id
    assert topics(app, request)[-2:] == ["TransfersReceived", "MoneyReversed"]
    saved.replay_agrees(app, request, register_id(BRANCH), fact_id(second))
    stored = from_events(app, request)
    assert (stored.received, stored.reversed) == (50_000, [str(fact_id(second))])
    assert app.request_status(asked["M1"].code)["status"] == "partly_paid"
    assert month_of(app, "M1", MONTH)["outstanding"] == 20_000
    agree(app)


def test_a_line_held_in_suspense_is_one_event_with_its_postings(
    ledger: DuesLedger, saved: Saved
) -> None:
    """A statement's unexplained lines, in and out, are each one `Recorded` holding the hold
    and its postings (v4); the queue lists them, the books hold them, and resolving one
    works as for a line held by a webhook."""
    from ledger.postings import acct

    app = books(ledger)
    money_in = statement_line(1, 55_000, "CHUYEN TIEN")
    money_out = statement_line(2, 30_000, "PHI QUAN LY TAI KHOAN", "out")
    counts = app.import_statement(BRANCH, [money_in, money_out])
    assert (counts["suspense"], counts["flagged"]) == (1, 1)
    for fact, flagged in ((money_in, False), (money_out, True)):
        [only] = list(app.events.get(fact_id(fact)))
        assert type(only).__name__ == "Recorded"
        assert only.held == {"org_code": BRANCH, "flagged": flagged}
        assert sum(n for _, side, n in only.postings if side == "D") == fact.amount
        saved.replay_agrees(app, fact_id(fact))
        assert from_events(app, fact_id(fact)).suspense["flagged"] is flagged
    balances = app.account_balances()
    assert balances[acct(BRANCH, "liabilities", "suspense")] == -55_000
    assert balances[acct(BRANCH, "assets", "unexplained_outflow")] == 30_000
    held = [i for i in app.suspense_items(BRANCH) if i["direction"] == "in"]
    app.resolve_suspense(held[0]["id"], not_dues="Tiền ủng hộ")
    assert app.account_balances()[acct(BRANCH, "liabilities", "suspense")] == 0
    agree(app)


def test_a_days_suspense_items_are_one_event_with_their_notes(
    ledger: DuesLedger, saved: Saved
) -> None:
    """Four unexplained lines of one day, one naming M2 for what M2 owes: the day's queue
    records one `ItemsAdded`, the proposal with its item; read back from its events alone
    the queue is the same; the proposal is confirmed and an outgoing item resolved as
    for items a webhook added, and the inspection finding follows the resolution."""
    from ledger.suspense import queue_id
    from projections.findings import Findings

    app = books(ledger)
    lines = [
        statement_line(1, 55_000, "CHUYEN TIEN"),
        statement_line(2, 70_000, "M2 NOP DANG PHI T12"),
        statement_line(3, 30_000, "PHI QUAN LY TAI KHOAN", "out"),
        statement_line(4, 40_000, "CHUYEN KHOAN KHONG RO", "out"),
    ]
    counts = app.import_statement(BRANCH, lines)
    assert (counts["suspense"], counts["proposed"], counts["flagged"]) == (1, 1, 2)
    queue = queue_id(BRANCH, "2026-12-15")
    assert topics(app, queue) == ["ItemsAdded"]
    saved.replay_agrees(app, queue)
    stored = from_events(app, queue)
    items = app.suspense_items(BRANCH)
    assert [i["id"] for i in stored.items] == [f"{BRANCH}/20261215-{n}" for n in (1, 2, 3, 4)]
    assert stored.items[1]["proposal"]["member"] == "M2"
    assert {i["id"]: i.get("proposal") for i in items} == {
        i["id"]: i.get("proposal") for i in stored.items
    }
    app.confirm_proposal(stored.items[1]["id"])
    assert month_of(app, "M2", MONTH)["outstanding"] == 0
    app.resolve_suspense(stored.items[3]["id"], not_dues="Phí chuyển tiền")
    reads = Reads(app)
    try:
        flagged = {f["subject"]: f for f in Findings(reads).list("TW", kind=3)}
    finally:
        reads.close()
    resolved = flagged[str(fact_id(lines[3]))]["evidence"]["details"]["resolution"]
    assert resolved["how"] == "not_dues"
    assert flagged[str(fact_id(lines[2]))]["evidence"]["details"]["resolution"] is None
    agree(app)


def test_a_chunk_another_writer_changed_meanwhile_is_matched_again(
    ledger: DuesLedger, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway's notification (another process) pays M1 and records one of the
    statement's own lines after the import read its chunk and before it saved: the save
    meets those events, and the chunk is matched again from storage. Nothing is counted
    twice: the line the gateway recorded is `already`, M1's request holds both transfers."""
    from api.bootstrap import build_ledger
    from api.settings import load_settings

    app = books(ledger)
    asked = requests(app)
    shown_first = statement_line(2, 20_000, f"IBFT {asked['M1'].code}")
    lines = [statement_line(1, 70_000, f"IBFT {asked['M0'].code}"), shown_first]
    lines.append(statement_line(3, 50_000, f"IBFT {asked['M1'].code} LAN 2"))
    other = build_ledger(load_settings(db_url))
    prefetch = app._prefetch
    chunks: list[int] = []

    def racing(uow: Any, facts: list[Any]) -> None:
        prefetch(uow, facts)
        if not chunks:  # the gateway's line lands between this chunk's reads and its save
            other.record_bank_transaction(replace(shown_first, source="sepay"))
        chunks.append(len(facts))

    monkeypatch.setattr(app, "_prefetch", racing)
    try:
        counts = app.import_statement(BRANCH, lines)
    finally:
        other.close()
    assert chunks == [3, 2]  # the chunk, then again without the gateway's line
    assert (counts["new"], counts["already"], counts["matched"]) == (2, 1, 2)
    status = app.request_status(asked["M1"].code)
    assert (status["status"], status["received"]) == ("paid", 70_000)
    assert [month_of(app, m, MONTH)["outstanding"] for m in ("M0", "M1")] == [0, 0]
    seen = app.get_or_none(fact_id(shown_first), BankTransaction)
    assert seen is not None and seen.source == "sepay" and seen.on_statement == "statement:generic"
    agree(app)


def test_a_chunk_that_keeps_meeting_other_writers_stops_with_nothing_of_it_stored(
    ledger: DuesLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three tries, then the conflict is the import's answer (the CLI asks to run it
    again); no line of the chunk is stored."""
    from eventsourcing.persistence import IntegrityError

    from ledger.services import statements

    app = books(ledger)
    asked = requests(app)
    tries: list[int] = []

    def conflicting(self: Any, uow: Any, part: list[Any], *_: Any) -> Any:
        tries.append(len(part))
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(statements.StatementCommands, "_import_chunk", conflicting)
    fact = statement_line(1, 70_000, f"IBFT {asked['M0'].code}")
    with pytest.raises(IntegrityError):
        app.import_statement(BRANCH, [fact])
    assert tries == [1, 1, 1]
    assert app.get_or_none(fact_id(fact), BankTransaction) is None
