"""A plain VietQR transfer to the organisation's account: a QR and nothing else.

Rule: no service watches the account, so nothing notifies the ledger; the
money is confirmed later from the bank statement. Any notification sent here
is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.errors import NotificationRejected
from ledger.ports import BankTransactionFact, RenderedRequest

from .common import render_request


class TransferGateway:
    name: str = "transfer"

    def render(self, payload: str) -> RenderedRequest:
        return render_request(payload)

    def parse_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[BankTransactionFact]:
        raise NotificationRejected(
            "Chuyển khoản VietQR thường không có thông báo; giao dịch được xác nhận sau "
            "từ sao kê ngân hàng",
            "A plain VietQR transfer sends no notification; it is confirmed later "
            "from the bank statement",
        )
