"""Ports the ledger owns and the outer layers implement.

Rule: the ledger never imports a gateway; it asks through these small
protocols. `payment_gateways` provides the real VietQR codec and bank list;
tests may pass fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class QRPayloadEncoder(Protocol):
    def encode_transfer(
        self, *, bin_code: str, account: str, amount: int | None, purpose: str
    ) -> str:
        """A VietQR payload for a transfer to `account` at the bank `bin_code`."""


class BankDirectory(Protocol):
    def bank_name(self, bin_code: str) -> str | None:
        """The bank's short name for a BIN, or None if the BIN is unknown."""


@dataclass(frozen=True)
class BankTransactionFact:
    """One movement of money as a bank or gateway reports it, before the ledger interprets it.

    `external_id` is the bank's or gateway's own id (or a content hash where a format has
    none); with `source` it keys the transaction, so a repeated notification changes nothing.
    """

    source: str  # "sepay", "casso", "payos", "portal", "statement:<bank>", ...
    external_id: str
    bin_code: str | None
    account_number: str
    direction: str  # "in" | "out"
    amount: int  # positive đồng
    value_date: str  # ISO date (or date-time) the bank gives
    narrative: str
    counterparty: str | None = None
    reference: str | None = None  # the bank's own reference for the transfer, if given
    balance: int | None = None  # the account's balance after this line, if the source prints it
    # False where the source printed the same reference on several lines (a transfer and
    # its fee, say): then the reference does not identify the line and is not its key.
    reference_is_key: bool = True
    # A statement line's content hash (the external id it has when not keyed by its
    # reference): whether a reference keys a line depends on the file's other lines, so
    # the import also looks for the line under its other key (`alternate_id`).
    content_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The recorded fields (the keying choice is not itself a fact about the money)."""
        return {
            "source": self.source,
            "external_id": self.external_id,
            "bin_code": self.bin_code,
            "account_number": self.account_number,
            "direction": self.direction,
            "amount": self.amount,
            "value_date": self.value_date,
            "narrative": self.narrative,
            "counterparty": self.counterparty,
            "reference": self.reference,
            "balance": self.balance,
        }


@dataclass(frozen=True)
class RenderedRequest:
    payload: str
    png: bytes
    svg: str


class PaymentGateway(Protocol):
    """A payment service the ledger can ask for money through and hear back from."""

    name: str

    def render(self, payload: str) -> RenderedRequest:
        """Images of a request's VietQR payload (the ledger made the payload through its encoder)."""

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        """Authenticate and read a notification; raise NotificationRejected if it is not genuine or not readable."""
