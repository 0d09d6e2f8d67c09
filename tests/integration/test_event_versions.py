"""Old event shapes still load: a bank line recorded before statements kept balances, and
the suspense queue an organisation had before queues were kept by day.

`BankTransaction.Recorded` v2 added `balance`, v3 `matched` and v4 `held` and `postings`, `SuspenseQueue.Started` v2
(and the queue's snapshot) `day`; an older event (as stored before) is upcast on reading.
Runs on SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

import json

from eventsourcing.persistence import StoredEvent

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id
from ledger.ports import BankTransactionFact
from tests.builders import small_ledger


def as_stored(stored: StoredEvent, state: dict[str, object]) -> StoredEvent:
    """`stored` with another state: the shape an older version wrote."""
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def sepay_line(
    n: int, amount: int, narrative: str, balance: int | None = None
) -> BankTransactionFact:
    """An incoming SePay notification on HN-BD-01's account."""
    return BankTransactionFact(
        source="sepay",
        external_id=f"SEPAY-{n}",
        bin_code=None,
        account_number="1012345678",
        direction="in",
        amount=amount,
        value_date="2026-12-15",
        narrative=narrative,
        reference=f"FT2634900000{n}",
        balance=balance,
    )


def test_a_version_1_bank_line_loads_with_no_balance(ledger: DuesLedger) -> None:
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    fact = sepay_line(1, 55_000, "CHUYEN TIEN", balance=1_055_000)
    tx, _ = ledger.record_bank_transaction(fact)
    [recorded, *_rest] = ledger.recorder.select_events(tx.id)
    state = json.loads(recorded.state)
    assert state.pop("class_version") == 4 and state.pop("matched") is None
    assert state.pop("held") is None and state.pop("postings") == []
    assert state.pop("balance") == 1_055_000
    event = ledger.mapper.to_domain_event(as_stored(recorded, state))  # as held before v2
    assert event.balance is None  # type: ignore[attr-defined]
    assert event.matched is None  # type: ignore[attr-defined]
    again = BankTransaction.Recorded  # type: ignore[attr-defined]
    assert isinstance(event, again)
    rebuilt = event.mutate(None)
    assert isinstance(rebuilt, BankTransaction)
    assert (rebuilt.id, rebuilt.amount, rebuilt.balance) == (fact_id(fact), 55_000, None)
    assert rebuilt.matched is None


def test_a_version_2_bank_line_loads_unmatched_until_its_matched_event(
    ledger: DuesLedger,
) -> None:
    """Before v3 a matched line was `Recorded` (v2, no `matched`) then `Matched`: read
    back, it is matched by the second event, as before."""
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    ledger.open_month("2026-12")
    code = ledger.member_request("M0").code
    fact = sepay_line(2, 70_000, f"IBFT {code}")
    tx, _ = ledger.record_bank_transaction(fact)  # a webhook: Recorded, then Matched
    recorded, matched, *_ = ledger.recorder.select_events(tx.id)
    state = json.loads(recorded.state)
    assert state.pop("matched") is None
    assert state.pop("held") is None and state.pop("postings") == []
    state["class_version"] = 2
    first = ledger.mapper.to_domain_event(as_stored(recorded, state))  # as held before v3
    assert first.matched is None  # type: ignore[attr-defined]
    line = first.mutate(None)
    assert isinstance(line, BankTransaction) and line.matched is None
    line = ledger.mapper.to_domain_event(matched).mutate(line)
    assert line is not None and line.matched == tx.matched
    assert line.matched is not None and line.matched["target"] == code


def test_a_version_3_bank_line_loads_not_held_until_its_held_event(ledger: DuesLedger) -> None:
    """Before v4 a line held in suspense was `Recorded` (v3, no `held`, no `postings`) then
    `HeldInSuspense`: read back, it is held by the second event, as before."""
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    fact = sepay_line(3, 55_000, "CHUYEN TIEN")
    tx, _ = ledger.record_bank_transaction(fact)  # a webhook: Recorded, then HeldInSuspense
    recorded, held, *_ = ledger.recorder.select_events(tx.id)
    state = json.loads(recorded.state)
    assert state.pop("held") is None and state.pop("postings") == []
    state["class_version"] = 3
    first = ledger.mapper.to_domain_event(as_stored(recorded, state))  # as held before v4
    assert (first.held, first.postings) == (None, [])  # type: ignore[attr-defined]
    line = first.mutate(None)
    assert isinstance(line, BankTransaction) and line.suspense is None
    line = ledger.mapper.to_domain_event(held).mutate(line)
    assert line is not None and line.suspense == tx.suspense
    assert line.suspense == {"org": "HN-BD-01", "flagged": False, "resolved": False}


def test_a_version_1_suspense_queue_is_the_organisations_queue_without_a_day(
    ledger: DuesLedger,
) -> None:
    """`SuspenseQueue.Started` v2 added `day` (queues kept per value date); the queue
    stored before (v1 events, and a v1 snapshot) is the one without a day, items `ORG/n`."""
    from ledger.suspense import SuspenseQueue, queue_id

    small_ledger(ledger)
    queue = SuspenseQueue(org_code="HN-BD-01")
    queue.add("tx-1", "in", 10_000, "2026-12-15", "IBFT A")
    ledger.save(queue)
    [started, added] = ledger.recorder.select_events(queue_id("HN-BD-01"))
    state = json.loads(started.state)
    assert state.pop("class_version") == 2 and state.pop("day") is None
    old = ledger.mapper.to_domain_event(as_stored(started, state))
    assert old.day is None  # type: ignore[attr-defined]
    rebuilt = ledger.mapper.to_domain_event(added).mutate(old.mutate(None))
    assert isinstance(rebuilt, SuspenseQueue)
    assert (rebuilt.day, rebuilt.items[0]["id"]) == (None, "HN-BD-01/1")

    # a snapshot of it, as snapshots stored the aggregate's state before v2
    taken = SuspenseQueue.Snapshot.take(rebuilt)  # type: ignore[attr-defined]
    stored = ledger.mapper.to_stored_event(taken)
    v1 = json.loads(stored.state)
    assert v1["state"].pop("class_version") == 2 and v1["state"].pop("day") is None
    again = ledger.mapper.to_domain_event(as_stored(stored, v1)).mutate(None)
    assert isinstance(again, SuspenseQueue)
    assert (again.day, again.item("HN-BD-01/1")["amount"]) == (None, 10_000)


def test_a_version_1_payment_reversal_loads_with_no_day(ledger: DuesLedger) -> None:
    """`Payment.Reversed` v2 added `on` (the day the bank took the money back); a v1
    reversal loads with `on` None, and the payment is reversed as before."""
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    ledger.open_month("2026-12")
    code = ledger.member_request("M0").code
    ledger.record_bank_transaction(sepay_line(4, 70_000, f"IBFT {code}"))
    back = BankTransactionFact(
        source="sepay",
        external_id="SEPAY-5",
        bin_code=None,
        account_number="1012345678",
        direction="out",
        amount=70_000,
        value_date="2026-12-15",
        narrative="HOAN TRA GD FT26349000004",
        reference="FT26349000005",
    )
    tx, _ = ledger.record_bank_transaction(back)
    assert tx.matched is not None and tx.matched["how"] == "reversal"
    [reversal] = [e for e in ledger.iter_events() if type(e).__qualname__ == "Payment.Reversed"]
    stored = [
        s
        for s in ledger.recorder.select_events(reversal.originator_id)
        if s.topic.endswith("Payment.Reversed")
    ]
    [reversed_v2] = stored
    state = json.loads(reversed_v2.state)
    assert state.pop("class_version") == 2 and state.pop("on") == "2026-12-15"
    event = ledger.mapper.to_domain_event(as_stored(reversed_v2, state))  # as held before v2
    assert event.on is None  # type: ignore[attr-defined]
    assert event.reversed_by == str(tx.id)  # type: ignore[attr-defined]
    payment = ledger.mapper.to_domain_event(stored_first(ledger, reversal.originator_id))
    undone = event.mutate(payment.mutate(None))
    assert undone is not None and undone.reversed_by == str(tx.id)  # type: ignore[attr-defined]


def stored_first(ledger: DuesLedger, originator: object) -> StoredEvent:
    return next(iter(ledger.recorder.select_events(originator)))  # type: ignore[arg-type]
