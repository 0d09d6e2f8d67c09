"""A payment request's status and its QR image (PNG, SVG).

Rule: role `member` sees the requests that name it (its own or a batch it is in);
other roles see requests of branches in their scope; anyone else gets the 404 of
an unknown reference. The image is drawn from the request's stored payload.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.http.auth import Principal
from api.http.deps import PROBLEMS, Caller, Svc
from api.http.schemas import PaymentRequestPublic
from api.http.services import Services
from ledger.errors import NotFound
from payment_gateways.vietqr import png, svg

router = APIRouter(prefix="/api/v1/payment-requests", tags=["payment requests"], responses=PROBLEMS)
Reference = Annotated[
    str, Path(min_length=1, max_length=40, description="Mã tham chiếu / reference, e.g. DPK7Q2M9XM")
]
MEMBER_KINDS = ("member", "batch", "payroll")


def not_found(reference: str) -> NotFound:
    return NotFound(
        f"Không có yêu cầu thanh toán {reference}",
        f"No payment request {reference}",
        field="reference",
    )


def visible_status(svc: Services, who: Principal, reference: str) -> dict[str, Any]:
    try:
        with svc.lock:
            status = svc.ledger.request_status(reference)
    except NotFound:
        raise not_found(reference) from None
    if who.role == "admin":
        return status
    if who.role == "member":
        named = {str(item[0]) for item in status["items"]}
        if status["kind"] in MEMBER_KINDS and who.member in named:
            return status
        raise not_found(reference)
    if svc.reads.covers(who.scope, status["branch"], svc.period()):
        return status
    raise not_found(reference)


def public_request(status: dict[str, Any], request: Request) -> dict[str, Any]:
    """The ledger's request status as the API shows it (validated against the schema)."""
    target = status["target"]
    reference = status["reference"]
    has_qr = bool(status["payload"])
    body = {
        "reference": reference,
        "kind": status["kind"],
        "status": status["status"],
        "amount": status["total"],
        "received": status["received"],
        "held": status["held"],
        "branch": status["branch"],
        "payer": status["payer"],
        "hint": status["hint"],
        "items": [
            {"member": m, "months": list(periods), "amount": int(a), "remaining": int(left)}
            for (m, periods, a), left in zip(status["items"], status["remaining"], strict=True)
        ],
        "target": {k: target[k] for k in ("bin", "account_number", "holder_name", "holder_kind")}
        | {"org": target.get("org", status["branch"])},
        "override_reason": status["override_reason"],
        "expires_at": status["expires_at"],
        "payload": status["payload"],
        "transfers": [
            {k: t[k] for k in ("transaction_id", "amount", "received_at", "status_at_receipt")}
            | {"held": int(t.get("held", 0))}
            for t in status["transfers"]
        ],
        "image_png_url": str(request.url_for("payment_request_png", reference=reference))
        if has_qr
        else None,
        "image_svg_url": str(request.url_for("payment_request_svg", reference=reference))
        if has_qr
        else None,
    }
    return PaymentRequestPublic.model_validate(body).model_dump(mode="json")


@router.get("/{reference}", response_model=PaymentRequestPublic, name="payment_request")
def get_request(reference: Reference, request: Request, svc: Svc, who: Caller) -> dict[str, Any]:
    """Trạng thái yêu cầu / A request's status: open, paid, partly_paid, expired, cancelled."""
    return public_request(visible_status(svc, who, reference), request)


def _payload(svc: Services, who: Principal, reference: str) -> str:
    status = visible_status(svc, who, reference)
    if not status["payload"]:
        raise NotFound(
            f"Yêu cầu {reference} không có mã QR (khoản chuyển đi)",
            f"Request {reference} has no QR (it is an outgoing transfer)",
            field="reference",
        )
    return str(status["payload"])


@router.get(
    "/{reference}/qr.png",
    name="payment_request_png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "Ảnh QR / QR image"}},
)
def qr_png(reference: Reference, svc: Svc, who: Caller) -> Response:
    """Ảnh QR (PNG) / The request's QR as PNG."""
    return Response(png(_payload(svc, who, reference)), media_type="image/png")


@router.get(
    "/{reference}/qr.svg",
    name="payment_request_svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "Ảnh QR / QR image"}},
)
def qr_svg(reference: Reference, svc: Svc, who: Caller) -> Response:
    """Ảnh QR (SVG) / The request's QR as SVG."""
    return Response(svg(_payload(svc, who, reference)), media_type="image/svg+xml")
