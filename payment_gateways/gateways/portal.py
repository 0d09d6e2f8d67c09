"""The National Public Service Portal's payment platform (Cổng DVCQG), simulated.

Rule: the portal is not reachable from tests or the demo, so `PortalSimulator`
plays it: it "pays" a VietQR payload and returns the notification the portal
would send, a canonical JSON body (keys sorted, no spaces, UTF-8) signed with
HMAC-SHA256 under a shared secret, the hex digest going in the
`X-Portal-Signature` header. `PortalGateway` checks that signature (in
constant time) over the body written canonically, then reads the fact. Each
payment gets its own transaction id; a notification delivered again carries
the same id, so the ledger records it once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ledger.errors import InvalidInput
from ledger.ports import BankTransactionFact, RenderedRequest
from payment_gateways.vietqr import VietQRError, decode, fold

from .common import (
    Fields,
    header,
    hmac_sha256,
    load_json,
    reject,
    render_request,
    same_secret,
    vietqr_input_error,
)

LABEL = "DVCQG"
SIGNATURE_HEADER = "X-Portal-Signature"
VIETNAM = timezone(timedelta(hours=7))


def canonical(notification: Any) -> str:
    return json.dumps(notification, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _now() -> datetime:
    return datetime.now(VIETNAM).replace(microsecond=0)


class PortalSimulator:
    """Pays VietQR payloads as the portal would and writes its signed notifications."""

    def __init__(self, secret: str, *, clock: Callable[[], datetime] = _now) -> None:
        self._secret = secret
        self._clock = clock

    def pay(self, payload: str, payer_name: str, amount: int | None = None) -> bytes:
        """The notification body for paying `payload` (by default its own amount)."""
        try:
            qr = decode(payload)
        except VietQRError as e:
            raise vietqr_input_error(e) from e
        paid = qr.amount if amount is None else amount
        if not isinstance(paid, int) or isinstance(paid, bool) or paid <= 0:
            raise InvalidInput(
                "Cần số tiền dương (QR tĩnh không có số tiền)",
                "A positive amount is needed (a static QR carries none)",
                field="amount",
            )
        payer = fold(payer_name).upper()
        at = self._clock()
        notification = {
            "transactionId": f"DVCQG{at:%Y%m%d}{secrets.token_hex(5).upper()}",
            "paidAt": at.isoformat(),
            "bin": qr.bin,
            "accountNumber": qr.account,
            "amount": paid,
            "currency": "VND",
            "narrative": " ".join(p for p in ("DVCQG", qr.purpose, payer) if p),
            "payerName": payer_name.strip(),
            "status": "SUCCESS",
        }
        return canonical(notification).encode("utf-8")

    def sign(self, body: bytes) -> str:
        return hmac_sha256(self._secret, canonical(json.loads(body)))

    def headers(self, body: bytes) -> dict[str, str]:
        """The headers the portal sends with `body`."""
        return {"Content-Type": "application/json", SIGNATURE_HEADER: self.sign(body)}


class PortalGateway:
    name: str = "portal"

    def __init__(self, secret: str) -> None:
        if not secret.strip():
            raise ValueError("The portal needs a shared secret")
        self._secret = secret

    def render(self, payload: str) -> RenderedRequest:
        return render_request(payload)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        f = Fields(LABEL, load_json(LABEL, body))
        given = (header(headers, SIGNATURE_HEADER) or "").strip().lower()
        if not self._signed(given, f.obj):
            reject(
                LABEL,
                f"chữ ký {SIGNATURE_HEADER} sai hoặc thiếu",
                f"wrong or missing {SIGNATURE_HEADER}",
                SIGNATURE_HEADER,
            )
        if f.text("status").upper() != "SUCCESS":
            return []
        bin_code = f.text("bin")
        if not (len(bin_code) == 6 and bin_code.isdigit() and bin_code.isascii()):
            f.bad("bin", "trường {} phải gồm 6 chữ số", "field {} must be 6 digits")
        if f.has("currency") and f.text("currency").upper() != "VND":
            f.bad("currency", "trường {} phải là VND", "field {} must be VND")
        return [
            BankTransactionFact(
                source=self.name,
                external_id=f.text("transactionId"),
                bin_code=bin_code,
                account_number=f.text("accountNumber"),
                direction="in",
                amount=f.amount("amount"),
                value_date=f.moment("paidAt"),
                narrative=f.text("narrative", empty=True),
                counterparty=f.optional_text("payerName"),
                reference=f.text("transactionId"),
            )
        ]

    def _signed(self, given: str, notification: dict[str, Any]) -> bool:
        try:
            expected = hmac_sha256(self._secret, canonical(notification))
        except (ValueError, RecursionError):
            return False
        return bool(given) and same_secret(given, expected)
