"""Old event shapes still load: a bank line recorded before statements kept balances.

`BankTransaction.Recorded` v2 added `balance`; a v1 event (as stored before) is
upcast on reading. Runs on SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

import json

from eventsourcing.persistence import StoredEvent

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id
from ledger.ports import BankTransactionFact
from tests.builders import small_ledger


def test_a_version_1_bank_line_loads_with_no_balance(ledger: DuesLedger) -> None:
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    fact = BankTransactionFact(
        source="sepay",
        external_id="SEPAY-1",
        bin_code=None,
        account_number="1012345678",
        direction="in",
        amount=55_000,
        value_date="2026-12-15",
        narrative="CHUYEN TIEN",
        reference="FT26349000001",
        balance=1_055_000,
    )
    tx, _ = ledger.record_bank_transaction(fact)
    [recorded, *_rest] = ledger.recorder.select_events(tx.id)
    state = json.loads(recorded.state)
    assert state.pop("class_version") == 2 and state.pop("balance") == 1_055_000
    old = StoredEvent(
        originator_id=recorded.originator_id,
        originator_version=recorded.originator_version,
        topic=recorded.topic,
        state=json.dumps(state).encode(),
    )
    event = ledger.mapper.to_domain_event(old)  # what the store held before v2
    assert event.balance is None  # type: ignore[attr-defined]
    again = BankTransaction.Recorded  # type: ignore[attr-defined]
    assert isinstance(event, again)
    rebuilt = event.mutate(None)
    assert isinstance(rebuilt, BankTransaction)
    assert (rebuilt.id, rebuilt.amount, rebuilt.balance) == (fact_id(fact), 55_000, None)
