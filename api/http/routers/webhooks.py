"""Gateway webhooks: SePay, Casso, payOS. The same path as `dangphi webhook replay`.

Rule: no bearer token; each notification is authenticated as its gateway documents
(SePay `Authorization: Apikey …`, Casso `secure-token: …`, payOS's HMAC `signature`
in the body), with the secrets DANGPHI_SEPAY_API_KEY, DANGPHI_CASSO_SECURE_TOKEN,
DANGPHI_PAYOS_CHECKSUM_KEY. A failed authentication is 401, an unreadable body or a
value date out of bounds 422, a line recorded before with another amount 409, an
unconfigured gateway 503, each recording nothing: a notification's lines are recorded
all or none. Each transaction is recorded once however often it is delivered (the
ledger keys it by the gateway's id), and a delivery that was recorded before is
acknowledged again with 200: SePay reads `{"success": true}`, Casso and payOS any 2xx.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.http.deps import PROBLEMS, RawBody, Svc
from api.http.problems import ledger_problem
from api.http.schemas import WebhookAck
from ledger.errors import LedgerError
from payment_gateways.gateways.registry import gateway_for

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class Gateway(StrEnum):
    sepay = "sepay"
    casso = "casso"
    payos = "payos"


BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "Thân thông báo đúng như cổng gửi / the notification as the gateway sends it",
    }
}


@router.post(
    "/{gateway}",
    response_model=WebhookAck,
    openapi_extra=BODY,
    responses={
        401: PROBLEMS[401] | {"description": "Xác thực cổng sai / gateway authentication failed"},
        409: PROBLEMS[422]
        | {
            "description": "Đã ghi với số tiền khác, hoặc ghi đồng thời / recorded before "
            "with another amount, or a concurrent write"
        },
        422: PROBLEMS[422],
        503: PROBLEMS[422] | {"description": "Cổng chưa cấu hình / gateway not configured"},
    },
)
def notify(gateway: Gateway, request: Request, svc: Svc, raw: RawBody) -> Any:
    """Thông báo giao dịch từ cổng thanh toán / A gateway's transaction notification."""
    try:
        adapter = gateway_for(gateway.value, svc.gateway_settings)
        facts = adapter.parse_notification(raw, dict(request.headers))
        rows = []
        with svc.lock:  # all of a notification's lines, or none
            for fact, (tx, created) in zip(
                facts, svc.ledger.record_bank_transactions(facts), strict=True
            ):
                matched = tx.matched
                rows.append(
                    {
                        "external_id": fact.external_id,
                        "direction": tx.direction,
                        "amount": tx.amount,  # as recorded
                        "recorded": created,
                        "matched": matched is not None,
                        "matched_to": None if matched is None else str(matched.get("target")),
                    }
                )
    except LedgerError as e:
        # SePay reads `success`; the problem says why, in both languages.
        return ledger_problem(e, request.url.path, success=False)
    ack = WebhookAck(transactions=rows)  # type: ignore[arg-type]
    return JSONResponse(ack.model_dump(mode="json"))
