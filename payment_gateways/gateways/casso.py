"""Casso (webhook v1): a bank-account watcher that POSTs new transactions in batches.

Rule: the request carries `secure-token: <token>` (compared in constant time);
the body is `{"error": 0, "data": [...]}` with one transaction per item, all
read or none. An item's external id is Casso's own `id` (the bank's transaction
code `tid` only for an item without `id`), so a delivery with `tid` and one
without are one line; `tid` is the line's bank reference. The amount is signed: negative is
money out, positive money in; zero is refused. The account is the item's
`bank_sub_acc_id` (`bankSubAccId` in later payloads, else `subAccId`); Casso
does not say which bank it is at, so the BIN is left empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.ports import BankTransactionFact, RenderedRequest

from .common import Fields, header, load_json, reject, render_request, same_secret

LABEL = "Casso"
ACCOUNT_KEYS = ("bank_sub_acc_id", "bankSubAccId", "subAccId")


class CassoGateway:
    name: str = "casso"

    def __init__(self, secure_token: str) -> None:
        if not secure_token.strip():
            raise ValueError("Casso needs a secure token")
        self._token = secure_token.strip()

    def render(self, payload: str) -> RenderedRequest:
        return render_request(payload)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        if not same_secret((header(headers, "secure-token") or "").strip(), self._token):
            reject(
                LABEL,
                "secure-token sai hoặc thiếu",
                "wrong or missing secure-token",
                "secure-token",
            )
        envelope = Fields(LABEL, load_json(LABEL, body))
        if envelope.obj.get("error", 0) != 0:
            envelope.bad(
                "error",
                "trường {} khác 0: Casso báo lỗi",
                "field {} is not 0: Casso reports an error",
            )
        items = envelope.raw("data")
        if not isinstance(items, list):
            envelope.bad(
                "data",
                "trường {} phải là danh sách (webhook v1)",
                "field {} must be a list (webhook v1)",
            )
        return [self._fact(Fields(LABEL, item, f"data[{i}]")) for i, item in enumerate(items)]

    def _fact(self, f: Fields) -> BankTransactionFact:
        amount = f.whole("amount")
        if amount == 0:
            f.bad("amount", "trường {} bằng 0", "field {} is zero")
        return BankTransactionFact(
            source=self.name,
            # Casso's own id names the notification, whether or not it gives the bank's
            # reference (`tid`): a delivery with `tid` and one without are one line
            external_id=f.ident("tid") if f.has("tid") and not f.has("id") else f.ident("id"),
            bin_code=None,
            account_number=_account(f),
            direction="in" if amount > 0 else "out",
            amount=abs(amount),
            value_date=f.moment("when"),
            narrative=f.text("description", empty=True),
            counterparty=f.optional_text("corresponsiveName")
            or f.optional_text("corresponsiveAccount"),
            reference=f.ident("tid") if f.has("tid") else None,
        )


def _account(f: Fields) -> str:
    for key in ACCOUNT_KEYS:
        if f.has(key):
            return f.ident(key)
    f.bad(ACCOUNT_KEYS[0], "thiếu trường {} (số tài khoản)", "field {} (the account) is missing")
