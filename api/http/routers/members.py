"""A member's statement, payment requests and receipts.

Rule: role `member` sees only its own code; other roles see members whose branch
this month is in their scope (404 otherwise, as for an unknown code). A payment
request is created by the member, a treasurer of the scope or an admin; its
amount always comes from the ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.http.auth import check_member, require_role
from api.http.deps import PROBLEMS, Caller, PageNo, PageSize, RawBody, Svc, once, page_of
from api.http.idempotency import HEADER
from api.http.queries import receipts
from api.http.routers.payment_requests import public_request
from api.http.schemas import (
    Code,
    MemberStatement,
    Page,
    PaymentRequestCreate,
    PaymentRequestPublic,
    Receipt,
)
from api.http.services import Services
from ledger.errors import Conflict
from ledger.period import months_between

router = APIRouter(prefix="/api/v1/members", tags=["members"], responses=PROBLEMS)
MemberCode = Annotated[Code, Path(description="Mã đảng viên / member code")]
AsOf = Annotated[date | None, Query(description="Tính đến ngày / months effective by this date")]
KnownAt = Annotated[
    str | None, Query(description="Như sổ biết lúc / as recorded by this time (ISO 8601)")
]


@router.get("/{code}/statement", response_model=MemberStatement)
async def statement(
    code: MemberCode, svc: Svc, who: Caller, as_of: AsOf = None, known_at: KnownAt = None
) -> dict[str, Any]:
    """Các tháng của đảng viên / A member's months: assessed, paid, outstanding, paid through."""
    check_member(svc.reads, who, code, svc.period())
    return svc.reads.member_statement(code, as_of=as_of, known_at=known_at)


def months_ahead(svc: Services, code: str, months: list[str] | None) -> int:
    """The months named must be owed (or not assessed yet); the request runs to the last."""
    if not months:
        return 0
    current = svc.period()
    owed: set[str] = set()
    assessed: set[str] = set()
    for m in svc.reads.member_statement(code)["months"]:
        assessed.add(m["period"])
        if m["outstanding"]:
            owed.add(m["period"])
    nothing = sorted(p for p in set(months) if p not in owed and (p < current or p in assessed))
    if nothing:
        raise Conflict(
            f"Không nợ đảng phí tháng {', '.join(nothing)}",
            f"Nothing is owed for {', '.join(nothing)}",
            field="months",
        )
    # counted from the month the request runs to anyway: this one, or a later one already
    # opened (the ledger adds months ahead after it); from this month, a named 2027-01
    # with 2026-12 opened early asked for 2027-02 too (a newcomer's check found it)
    base = svc.ledger.request_start(code)
    last = max(months)
    return 0 if last <= base else len(months_between(base, last)) - 1


@router.post(
    "/{code}/payment-requests",
    status_code=201,
    response_model=PaymentRequestPublic,
    responses={409: PROBLEMS[422] | {"description": "Không còn nợ / nothing owed, no account"}},
)
def create_payment_request(
    code: MemberCode,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    body: PaymentRequestCreate | None = None,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> Response:
    """Tạo yêu cầu nộp bằng VietQR / Create a VietQR payment request: amount, reference,
    payload and image URLs. Older months still owed are always included."""
    require_role(who, "member", "treasurer", "admin")
    check_member(svc.reads, who, code, svc.period())

    def create() -> JSONResponse:
        with svc.lock:
            ahead = months_ahead(svc, code, body.months if body else None)
            made = svc.ledger.member_request(code, months_ahead=ahead)
            status = svc.ledger.request_status(made.code)
            gaps = svc.ledger.months_not_opened(code)
        # months the branch has not opened yet: not in the amount (docs/api.md)
        public = public_request(status, request) | {"months_not_opened": gaps}
        location = str(request.url_for("payment_request", reference=public["reference"]))
        return JSONResponse(public, status_code=201, headers={"Location": location})

    return once(svc, who, request, raw, idempotency_key, create)


@router.get("/{code}/receipts", response_model=Page[Receipt])
def member_receipts(
    code: MemberCode, svc: Svc, who: Caller, page: PageNo = 1, size: PageSize = 50
) -> dict[str, Any]:
    """Các khoản đã nộp / A member's payments, oldest first (reversed ones marked)."""
    check_member(svc.reads, who, code, svc.period())
    with svc.lock:
        found = receipts(svc.ledger, code)
    return page_of(found, page, size)
