"""SePay: a bank-account watcher that POSTs each transaction on the account as JSON.

Rule: the request carries `Authorization: Apikey <key>` (compared in constant
time); one notification is one transaction. SePay retries a failed delivery
up to 7 times with the same `id`, so `id` is the external id and the ledger
records the transaction once. `transferType` says the direction; the amount
is always positive. The bank is named (`gateway`: "Vietcombank", "MBBank"),
not numbered, so its BIN comes from the bank list when the name is known.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.ports import BankTransactionFact, RenderedRequest

from .common import Fields, header, load_json, reject, render_request, same_secret
from .encoder import BankList

LABEL = "SePay"


class SePayGateway:
    name: str = "sepay"

    def __init__(self, api_key: str, banks: BankList | None = None) -> None:
        if not api_key.strip():
            raise ValueError("SePay needs an API key")
        self._api_key = api_key.strip()
        self._banks = banks or BankList()

    def render(self, payload: str) -> RenderedRequest:
        return render_request(payload)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        self._authenticate(headers)
        f = Fields(LABEL, load_json(LABEL, body))
        direction = f.text("transferType").lower()
        if direction not in ("in", "out"):
            f.bad(
                "transferType",
                "trường {} phải là 'in' hoặc 'out'",
                "field {} must be 'in' or 'out'",
            )
        bank = f.text("gateway")
        return [
            BankTransactionFact(
                source=self.name,
                external_id=f.ident("id"),
                bin_code=self._banks.bin_for_name(bank),
                account_number=f.text("accountNumber"),
                direction=direction,
                amount=f.amount("transferAmount"),
                value_date=f.moment("transactionDate"),
                narrative=_narrative(f),
                counterparty=None,
                reference=f.optional_text("referenceCode"),
            )
        ]

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, key = (header(headers, "Authorization") or "").strip().partition(" ")
        if scheme.lower() != "apikey" or not same_secret(key.strip(), self._api_key):
            reject(
                LABEL,
                "khoá API sai hoặc thiếu (Authorization: Apikey …)",
                "wrong or missing API key (Authorization: Apikey …)",
                "Authorization",
            )


def _narrative(f: Fields) -> str:
    """`content` (the transfer memo as the bank gives it), else `description` (the SMS text)."""
    present = [k for k in ("content", "description") if f.obj.get(k) is not None]
    if not present:
        f.bad("content", "thiếu trường {}", "field {} is missing")
    return next((text for text in (f.text(k, empty=True) for k in present) if text), "")
