"""`create_new` makes what the library's `_create` makes: the same event, the same state.

A statement import makes a bank line and, for most lines, a payment, with
`ledger.batching.create_new` instead of the library's generic `_create` (half
the time). Both are made here from the same fields at a frozen instant and
compared field by field, event and aggregate, and the event is read back
through the application's own mapper.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from freezegun import freeze_time

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction
from ledger.batching import create_new
from ledger.ids import payment_id
from ledger.payment import Payment
from ledger.postings import acct, credit, debit

LINE: dict[str, Any] = {
    "source": "statement:vcb",
    "external_id": "FT26327000001",
    "bin_code": "970436",
    "account_number": "1012345678",
    "direction": "in",
    "amount": 70_000,
    "value_date": "2026-11-23",
    "narrative": "MBVCB.1234.DPAB12CD.NGUYEN VAN A CHUYEN TIEN",
    "counterparty": "NGUYEN VAN A",
    "reference": "FT26327000001",
    "recorded_at": "2026-11-23T09:00:00+07:00",
    "balance": 1_070_000,
    "matched": None,
    "held": None,
    "postings": [],
}
PAYMENT: dict[str, Any] = {
    "reference": "DPAB12CD:FT26327000001:M0001",
    "member_code": "M0001",
    "branch_code": "HN-BD-01",
    "amount": 70_000,
    "channel": "bank",
    "received_on": "2026-11-23",
    "applied": [["HN-BD-01", "2026-11", 70_000]],
    "to_credit": 0,
    "postings": [
        debit(acct("HN-BD-01", "assets", "bank", "1012345678"), 70_000),
        credit(acct("HN-BD-01", "assets", "receivable", "M0001"), 70_000),
    ],
}
CASES = [
    (BankTransaction, UUID("6f0c5a8e-3b1d-4c6e-9a2f-0d1e2f3a4b5c"), LINE),
    (Payment, payment_id(PAYMENT["reference"]), PAYMENT),
]


def _state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@pytest.mark.parametrize(("cls", "new_id", "fields"), CASES, ids=["line", "payment"])
@freeze_time("2026-11-23 02:00:00")
def test_the_same_event_and_state_as_the_library(
    cls: type[Aggregate], new_id: UUID, fields: dict[str, Any]
) -> None:
    created: Any = cls.Recorded if cls is BankTransaction else cls.Received  # type: ignore[attr-defined]
    library = cls._create(created, id=new_id, **fields)
    ours = create_new(cls, created, new_id, **fields)

    assert type(ours) is cls
    assert _state(ours) == _state(library)
    assert (ours.id, ours.version, ours.created_on) == (new_id, 1, library.created_on)
    [event] = ours.pending_events
    [expected] = library.pending_events
    assert type(event) is type(expected)
    assert vars(event) == vars(expected)

    mapper = DuesLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    stored = mapper.to_stored_event(event)
    assert stored.state == mapper.to_stored_event(expected).state
    again = mapper.to_domain_event(stored)
    assert vars(again) == vars(expected)
    assert _state(again.mutate(None)) == _state(library)


def test_every_field_must_be_named() -> None:
    fields = dict(PAYMENT)
    del fields["to_credit"]
    with pytest.raises(TypeError):
        create_new(Payment, Payment.Received, payment_id("X"), **fields)  # type: ignore[attr-defined]
