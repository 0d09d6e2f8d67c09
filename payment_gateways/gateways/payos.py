"""payOS: Casso's payment-confirmation service; its webhook reports a paid request.

Rule: the body carries `signature`, the HMAC-SHA256 (hex) with the checksum
key of the `data` object written as `key=value` pairs sorted by key and
joined with `&`; `null` (and the strings "null", "undefined") count as empty,
booleans as `true`/`false`, lists as JSON with each object's keys sorted, as
payOS documents it and its SDKs compute it. A missing or wrong signature is
refused before anything else is read (compared in constant time). A signed
notification whose `code` is not "00", or whose `success` is given and not
`true`, reports no payment and gives no fact.
The external id is payOS's own, `paymentLinkId` (else `orderCode`, else the
bank reference); the bank reference is `reference`; the money is always coming
in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ledger.ports import BankTransactionFact, RenderedRequest

from .common import Fields, hmac_sha256, load_json, reject, render_request, same_secret

LABEL = "payOS"
SUCCESS = "00"


def signature_text(data: Mapping[str, Any]) -> str:
    """The text payOS signs: `key=value&…` over the keys in order."""
    return "&".join(f"{key}={_value(data[key])}" for key in sorted(data))


def sign(data: Mapping[str, Any], checksum_key: str) -> str:
    return hmac_sha256(checksum_key, signature_text(data))


def _value(value: Any) -> str:
    if value is None or value in ("null", "undefined"):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # as JavaScript prints it
    if isinstance(value, list):
        return _json([_sorted(item) for item in value])
    if isinstance(value, dict):
        return _json(_sorted(value))
    return str(value)


def _sorted(item: Any) -> Any:
    return dict(sorted(item.items())) if isinstance(item, dict) else item


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PayOSGateway:
    name: str = "payos"

    def __init__(self, checksum_key: str) -> None:
        if not checksum_key.strip():
            raise ValueError("payOS needs a checksum key")
        self._key = checksum_key.strip()

    def render(self, payload: str) -> RenderedRequest:
        return render_request(payload)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        envelope = Fields(LABEL, load_json(LABEL, body))
        data = Fields(LABEL, envelope.raw("data"), "data")
        if not self._signed(envelope.obj.get("signature"), data.obj):
            reject(LABEL, "chữ ký sai hoặc thiếu", "wrong or missing signature", "signature")
        if not _paid(envelope.obj, data.obj):
            return []
        if data.has("currency") and data.text("currency").upper() != "VND":
            data.bad("currency", "trường {} phải là VND", "field {} must be VND")
        return [
            BankTransactionFact(
                source=self.name,
                external_id=_external_id(data),
                bin_code=None,
                account_number=data.text("accountNumber"),
                direction="in",
                amount=data.amount("amount"),
                value_date=data.moment("transactionDateTime"),
                narrative=data.text("description", empty=True),
                counterparty=data.optional_text("counterAccountName")
                or data.optional_text("counterAccountNumber"),
                reference=data.optional_text("reference"),
            )
        ]

    def _signed(self, given: Any, data: dict[str, Any]) -> bool:
        if not isinstance(given, str):
            return False
        try:
            expected = sign(data, self._key)
        except (ValueError, RecursionError):  # nested too deep to write back out
            return False
        return same_secret(given.lower(), expected)


def _paid(envelope: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether a signed notification reports a payment: `code` "00" (top-level and in
    `data`) and, when given, `success` true. Only `data` is signed, and a body saying
    `"success": false` beside `"code": "00"` is no payment to count: before 2026-11-24
    `success` was not read and such a body paid the member's month (a helper's check)."""
    return (
        envelope.get("code", SUCCESS) == SUCCESS
        and data.get("code", SUCCESS) == SUCCESS
        and envelope.get("success", True) is True
    )


def _external_id(data: Fields) -> str:
    """payOS's own id for the payment (its link, else its order code), whether or not it
    gives the bank's reference: a delivery with `reference` and one without are one line
    (the reference, when given, keys the line; a helper found the two counted twice)."""
    for key in ("paymentLinkId", "orderCode", "reference"):
        if data.has(key):
            return data.ident(key)
    data.bad("reference", "thiếu trường {}", "field {} is missing")
