"""A treasurer's money: cash, bank statements, reconciliation, suspense, remittances, the book.

Rule: the organisation in the path must be in the caller's scope (404 otherwise, as
for an unknown code). Writes are for treasurers and admins (403 for auditors,
inspectors and members); reads also for auditors and inspectors. A member named in a
body must belong to the organisation's subtree this month (404 otherwise). Each
handler calls what the CLI calls (`api/cli/cash.py`, `statement.py`, `reconcile.py`,
`suspense.py`, `money.py`, `book.py`), under the ledger's lock; every POST honours
`Idempotency-Key`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.http.auth import (
    Principal,
    check_org,
    covers,
    member_branch,
    member_not_found,
    require_role,
)
from api.http.deps import PROBLEMS, Caller, PageNo, PageSize, RawBody, Svc, once, page_of
from api.http.idempotency import HEADER, dumps
from api.http.problems import ledger_problem
from api.http.schemas import AppliedMonth, Code, Page
from api.http.schemas_money import (
    CashDeposit,
    CashDepositCreate,
    CashReceipt,
    CashReceiptCreate,
    Reconciliation,
    Remittance,
    RemittanceCreate,
    Resolution,
    StatementImport,
    SuspenseItem,
    SuspenseResolve,
)
from api.http.services import Services
from api.http.uploads import XLSX, read_upload
from api.money_ops import book_file, import_statement_bytes, upload_name
from ledger.errors import ImportRejected, LedgerError

router = APIRouter(prefix="/api/v1/orgs", tags=["money"], responses=PROBLEMS)
OrgCode = Annotated[Code, Path(description="Mã tổ chức đảng / organisation code")]
ItemNo = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{8}-)?[1-9][0-9]{0,8}$",
        description="Khoản tạm giữ / item: `YYYYMMDD-n` (the n-th held on that value date), "
        "or `n` for an item held before queues were kept by day",
    ),
]
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]
READERS = ("treasurer", "auditor", "inspector", "admin")
WRITERS = ("treasurer", "admin")
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEMS[422] | {"description": "Xung đột với sổ / conflicts with the ledger"}
}


def _writer(svc: Services, who: Principal, org: str) -> None:
    require_role(who, *WRITERS)
    check_org(svc.reads, who, org, svc.period())


def _member_under(svc: Services, org: str, member: str, who: Principal | None = None) -> None:
    """404 (as for an unknown code) unless the member's branch is in `org`'s subtree. With
    `who` (money already in `org`'s account, resolved from suspense), also a member who
    was in it (money still reaches a branch's account for a member who has moved on, and
    its treasurer must be able to book it) or whom the caller's own scope holds now."""
    period = svc.period()
    branch = member_branch(svc.reads, member, period)
    if branch is None:
        raise member_not_found(member)
    if svc.reads.covers(org, branch, period):
        return
    if who is None:
        raise member_not_found(member)
    if covers(svc.reads, who, branch, period):
        return
    rows = svc.reads.views.query("SELECT branches FROM rm_members WHERE code = ?", [member])
    history: list[list[str]] = json.loads(rows[0][0]) if rows else []
    if not any(svc.reads.covers(org, was, since) for since, was in history):
        raise member_not_found(member)


@contextmanager
def _fields(**renamed: str) -> Iterator[None]:
    """The ledger names its own fields (`--format` is `layout` there): say the API's names."""
    try:
        yield
    except LedgerError as e:
        e.field = renamed.get(e.field or "", e.field)
        raise


# -- cash ----------------------------------------------------------------------------------
@router.post(
    "/{code}/cash/receipts",
    status_code=201,
    response_model=CashReceipt,
    responses=CONFLICT
    | {200: {"model": CashReceipt, "description": "Biên lai đã ghi / receipt already recorded"}},
)
def receive_cash(
    code: OrgCode,
    body: CashReceiptCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Thu tiền mặt có biên lai / Cash received from a member, keyed by the receipt number:
    201, or 200 with `duplicate: true` when that receipt was already recorded."""
    _writer(svc, who, code)
    _member_under(svc, code, body.member)

    def receive() -> Response:
        with svc.lock, _fields(reference="receipt"):
            r = svc.ledger.receive_cash(body.member, body.amount, body.receipt, body.months)
        out = CashReceipt(
            reference=r.reference,
            member=r.member_code,
            amount=r.amount,
            months=[AppliedMonth(branch=b, period=p, amount=int(a)) for b, p, a in r.applied],
            to_credit=r.to_credit,
            duplicate=r.duplicate,
        )
        return JSONResponse(out.model_dump(mode="json"), status_code=200 if r.duplicate else 201)

    return once(svc, who, request, raw, idempotency_key, receive)


@router.post(
    "/{code}/cash/deposits", status_code=201, response_model=CashDeposit, responses=CONFLICT
)
def deposit_cash(
    code: OrgCode,
    body: CashDepositCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Nộp tiền mặt vào ngân hàng / Cash taken to the bank: the code to write on the slip.
    The same slip again gives the same code; `Location` is the deposit's request status."""
    _writer(svc, who, code)

    def deposit() -> Response:
        with svc.lock:
            made = svc.ledger.deposit_cash(code, body.amount, body.slip)
            summary = svc.ledger.deposit_summary(made)
        location = str(request.url_for("payment_request", reference=made.code))
        out = CashDeposit.model_validate(summary).model_dump(mode="json")
        return JSONResponse(out, status_code=201, headers={"Location": location})

    return once(svc, who, request, raw, idempotency_key, deposit)


# -- statements ----------------------------------------------------------------------------
UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "Tệp sao kê / the statement file: raw (text/csv or XLSX) or multipart "
        "with a part named `file`",
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def _bad_lines(error: ImportRejected, path: str) -> Response:
    lines = [{"line": n, "detail_vi": vi, "detail_en": en} for n, vi, en in error.problems]
    error.field = "file"
    return ledger_problem(error, path, lines=lines)


@router.post(
    "/{code}/statements",
    response_model=StatementImport,
    openapi_extra=UPLOAD,
    responses={
        422: PROBLEMS[422]
        | {"description": "Tệp lỗi, không ghi gì; `lines` liệt kê từng dòng / bad file, `lines`"}
    },
)
def upload_statement(
    code: OrgCode,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    account: Annotated[
        str | None, Query(max_length=40, description="Số tài khoản / account, if several")
    ] = None,
    layout: Annotated[
        str | None,
        Query(alias="format", max_length=40, description="Mẫu cột / bank layout (default: auto)"),
    ] = None,
    filename: Annotated[
        str | None, Query(max_length=200, description="Tên tệp / file name (raw body)")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Nhập sao kê ngân hàng / Import a bank statement (CSV or XLSX): every line once, a
    re-upload records nothing new; a bad file records nothing (422 listing its lines)."""
    _writer(svc, who, code)
    upload = read_upload(raw, request.headers.get("content-type"), filename)
    name = upload_name(upload.filename, upload.suffix)

    def import_() -> Response:
        try:
            with svc.lock, _fields(layout="format"):
                result = import_statement_bytes(
                    svc.ledger, code, upload.content, filename=name, account=account, layout=layout
                )
        except ImportRejected as e:
            return _bad_lines(e, request.url.path)
        return JSONResponse(StatementImport.model_validate(result).model_dump(mode="json"))

    # A multipart body differs on every send (its boundary): the key covers the file itself.
    same = dumps({"query": sorted(request.query_params.multi_items()), "file": name})
    return once(svc, who, request, same + upload.content, idempotency_key, import_)


# -- reconciliation and suspense -----------------------------------------------------------
def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "number": str(item["id"]).rsplit("/", 1)[1]}


@router.get("/{code}/reconciliation", response_model=Reconciliation)
def reconciliation(code: OrgCode, svc: Svc, who: Caller) -> dict[str, Any]:
    """Đối chiếu ngân hàng / Bank reconciliation: lines matched, proposals, suspense,
    unexplained outgoing money, money in transit from children, each account's balance
    against its last statement."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    with svc.lock:  # re-entrant: the read models catch up under it too
        report = svc.reads.reconcile(code)
    for key in ("proposed", "suspense", "flagged"):
        report[key] = [_item(i) for i in report[key]]
    return report


@router.get("/{code}/suspense", response_model=Page[SuspenseItem])
def suspense(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    page: PageNo = 1,
    size: PageSize = 50,
    everything: Annotated[
        bool, Query(alias="all", description="Cả khoản đã xử lý / resolved items too")
    ] = False,
) -> dict[str, Any]:
    """Khoản tạm giữ / Money waiting for a treasurer's decision, oldest first."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    with svc.lock:
        items = svc.ledger.suspense_items(code, include_resolved=everything)
    return page_of([_item(i) for i in items], page, size)


def _resolved(result: dict[str, Any]) -> JSONResponse:
    return JSONResponse(Resolution.model_validate(result).model_dump(mode="json"))


@router.post("/{code}/suspense/{number}/resolve", response_model=Resolution, responses=CONFLICT)
def resolve(
    code: OrgCode,
    number: ItemNo,
    body: SuspenseResolve,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Xử lý khoản tạm giữ / Resolve item `ORG/YYYYMMDD-n`: to a member's dues, shared between
    members (`split`), a refund to make (its memo code in `reference`), or not dues with a
    reason."""
    _writer(svc, who, code)
    if body.member is not None:
        _member_under(svc, code, body.member, who)
    for share in body.split or []:
        _member_under(svc, code, share.member, who)
    reason = body.not_dues
    split = None if body.split is None else [(s.member, s.amount) for s in body.split]

    def run() -> Response:
        with svc.lock, _fields(id="number"):
            result = svc.ledger.resolve_suspense(
                f"{code}/{number}",
                member=body.member,
                months=body.months,
                refund=body.refund,
                not_dues=reason,
                split=split,
                spending=body.spending,
                code=body.code,
            )
        return _resolved(result)

    return once(svc, who, request, raw, idempotency_key, run)


@router.post("/{code}/suspense/{number}/confirm", response_model=Resolution, responses=CONFLICT)
def confirm(
    code: OrgCode,
    number: ItemNo,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Xác nhận đề xuất / Apply the ledger's proposal for item `ORG/YYYYMMDD-n` (409 if it has none
    or is already resolved)."""
    _writer(svc, who, code)

    def run() -> Response:
        with svc.lock, _fields(id="number"):
            return _resolved(svc.ledger.confirm_proposal(f"{code}/{number}"))

    return once(svc, who, request, raw, idempotency_key, run)


# -- remittances ---------------------------------------------------------------------------
@router.post(
    "/{code}/remittances",
    status_code=201,
    response_model=Remittance,
    responses=CONFLICT
    | {200: {"model": Remittance, "description": "Không còn gì phải nộp / nothing to remit"}},
)
def remit(
    code: OrgCode,
    body: RemittanceCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Nộp cấp trên / Remit the parent's share for a month: 201, or 200 with `amount` 0 when
    nothing is left to remit. By bank, the transfer's memo code and a VietQR to the parent;
    with nothing left but a bank transfer still in transit, that transfer's code, VietQR
    and `in_transit` again (200)."""
    _writer(svc, who, code)

    def run() -> Response:
        with svc.lock:
            r = svc.ledger.remit(code, body.period, via=body.via)
        if not (r.amount or r.payable or r.remitted_before or r.in_transit):
            svc.reads.balance(code, period=r.period)  # no figures for the month: 404
        out = Remittance(
            org=code,
            parent=r.parent_code,
            period=r.period,
            amount=r.amount,
            payable=r.payable,
            remitted_before=r.remitted_before,
            via=body.via,
            reference=r.code,
            payload=r.payload,
            in_transit=r.in_transit,
            over_remitted=r.over_remitted,
            offset=r.offset,
            offsets=[(str(m), int(a)) for m, a in r.offsets],
        )
        recorded = r.amount or r.offset
        return JSONResponse(out.model_dump(mode="json"), status_code=201 if recorded else 200)

    return once(svc, who, request, raw, idempotency_key, run)


# -- the dues book -------------------------------------------------------------------------
BOOK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Sổ thu, nộp đảng phí (S01/ĐP) / the dues book, as an attachment",
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/{code}/book", response_class=Response, responses=BOOK)
def book(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    period: Annotated[
        str, Query(max_length=10, description="YYYY-MM, YYYY-Qn (quý / quarter) or YYYY")
    ],
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> Response:
    """Sổ thu, nộp đảng phí / The dues book (form S01/ĐP) for a month, quarter or year,
    as CSV (UTF-8 with BOM) or XLSX; the same file as `dangphi book`."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    made = book_file(svc.reads, code, period, fmt)
    disposition = f'attachment; filename="{made.filename}"'
    return Response(
        made.content, media_type=made.media_type, headers={"Content-Disposition": disposition}
    )
