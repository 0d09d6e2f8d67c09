"""A treasurer's structure: the tree, members (import, register, transfer, exempt), months, batches.

Rule: reads (the tree) are for treasurer, auditor, inspector and admin; writes for a
treasurer and an admin only (403 for other roles). Everything named, in the path or
the body, must be in the caller's scope this month, else the 404 of an unknown code;
rows of an import and members of a batch must be under the organisation in the
path. Each write calls the DuesLedger method its CLI command calls, under the lock,
at most once per Idempotency-Key.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.csv_ops import upload_text
from api.http.auth import Principal, check_member, check_org, member_branch, member_not_found
from api.http.auth import require_role as require
from api.http.deps import PROBLEMS, Caller, RawBody, Svc, once
from api.http.idempotency import HEADER
from api.http.problems import problem, status_of
from api.http.routers.payment_requests import public_request
from api.http.schemas import PERIOD_PATTERN, Code, PaymentRequestPublic
from api.http.schemas_structure import (
    BatchCreate,
    ExemptionCreate,
    ExemptionGranted,
    ImportCounts,
    MemberCreate,
    MemberRegistered,
    MonthRoll,
    OrgTree,
    TransferCreate,
    Transferred,
)
from api.http.services import Services
from api.member_ops import import_within, read_members, unknown_branch
from ledger.errors import Conflict, ImportRejected, InvalidInput, NotFound
from ledger.organisation import MEMBER_TYPES, Organisation
from ledger.services.members import BASE_CATEGORIES
from ledger.services.structure import ImportResult

router = APIRouter(prefix="/api/v1", tags=["structure"], responses=PROBLEMS)
OrgCode = Annotated[Code, Path(description="Mã tổ chức đảng / organisation code")]
MemberCode = Annotated[Code, Path(description="Mã đảng viên / member code")]
Month = Annotated[str, Path(pattern=PERIOD_PATTERN, description="Tháng / month YYYY-MM")]
Key = Annotated[str | None, Header(alias=HEADER)]
READERS = ("treasurer", "auditor", "inspector", "admin")
WRITERS = ("treasurer", "admin")
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEMS[422] | {"description": "Trái với sổ / conflicts with the ledger"}
}
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "Tệp CSV đảng viên (docs/cli.md) / a members CSV: the raw body, or the "
        "part `file` of multipart/form-data",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
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


def writer_in(svc: Services, who: Principal, org: str) -> str:
    """The month, once the caller is known to be a writer with `org` in scope."""
    require(who, *WRITERS)
    period = svc.period()
    check_org(svc.reads, who, org, period)
    return period


# -- the tree --------------------------------------------------------------------------------
def node(o: Organisation, month: str, today: str) -> dict[str, Any]:
    kinds = sorted({a["holder_kind"] for a in o.active_accounts(today)})
    return {
        "code": o.code,
        "name": o.name,
        "type": o.org_type,
        "parent": o.parent_at(month),
        "account_holder_kinds": kinds,
        "non_organisation_account": any(k != "organisation" for k in kinds),
        "children": [],
    }


@router.get("/orgs/{code}/tree", response_model=OrgTree)
def tree(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Tháng / month (default: this one)")
    ] = None,
) -> dict[str, Any]:
    """Cây tổ chức trong một tháng / The subtree as it was in a month (`org tree`), with each
    unit's account holder kinds."""
    require(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    month = period or svc.period()
    with svc.lock:
        orgs, today = svc.ledger.subtree(month, code), svc.ledger.today_iso()
    nodes: dict[str, dict[str, Any]] = {}
    for o in orgs:  # top down: a parent's node exists before its children's
        nodes[o.code] = node(o, month, today)
        parent = nodes.get(o.parent_at(month) or "")
        if parent is not None and o.code != code:
            parent["children"].append(nodes[o.code])
    if code not in nodes:
        raise NotFound(
            f"Tổ chức '{code}' không hoạt động trong tháng {month}",
            f"Organisation '{code}' was not active in {month}",
            field="period",
        )
    return {"period": month, "organisations": len(nodes), "root": nodes[code]}


# -- members ---------------------------------------------------------------------------------
def rejected(e: ImportRejected, instance: str) -> JSONResponse:
    status, slug, title = status_of(e)
    lines = [{"line": n, "detail_vi": vi, "detail_en": en} for n, vi, en in e.problems]
    return problem(
        status,
        slug,
        title,
        e.message_vi,
        e.message_en,
        field="file",
        instance=instance,
        problems=lines,
    )


@router.post("/orgs/{code}/members/import", response_model=ImportCounts, openapi_extra=CSV_BODY)
def import_members(
    code: OrgCode,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Nhập đảng viên từ CSV / Import members from a CSV into branches under the organisation;
    the whole file is checked first and a bad line (listed in `problems`) imports nothing."""
    period = writer_in(svc, who, code)

    def call() -> Response:
        name, text = upload_text(raw, request.headers.get("content-type"))
        try:
            rows = read_members(text, label=name, name=name)
            with svc.lock:
                done = import_within(svc.ledger, rows, svc.reads.subtree(code, period))
        except ImportRejected as e:
            return rejected(e, request.url.path)
        counts = {"rows": len(rows), "created": done.created, "unchanged": done.unchanged}
        return JSONResponse(counts | {"assessed_late": late(done)})

    return once(svc, who, request, raw, idempotency_key, call)


def late(done: ImportResult) -> list[dict[str, Any]]:
    """Months the members' branch had opened before they were enrolled, assessed now."""
    return [{"code": c, "period": p, "amount": a} for c, p, a in done.assessed_late]


def check_new_member(svc: Services, org: str, body: MemberCreate, period: str) -> str:
    """The branch the member joins, refusing (naming the field) what the ledger would."""
    branch = body.branch_code or org
    if branch not in svc.reads.subtree(org, period):
        raise InvalidInput(*unknown_branch(branch), field="branch_code")
    kind = (svc.reads.tree.org(branch) or {}).get("type")
    if kind not in MEMBER_TYPES:
        raise InvalidInput(
            f"'{branch}' không phải chi bộ",
            f"'{branch}' is a {kind}, not a branch",
            field="branch_code",
        )
    if body.monthly_base is None and body.category in BASE_CATEGORIES:
        raise InvalidInput(
            f"Đối tượng {body.category} cần mức thu nhập",
            f"Category {body.category} needs a monthly_base",
            field="monthly_base",
        )
    if body.party_joined_on > date.fromisoformat(svc.ledger.today_iso()):
        raise InvalidInput(
            "Ngày vào Đảng ở tương lai",
            "party_joined_on is in the future",
            field="party_joined_on",
        )
    return branch


@router.post(
    "/orgs/{code}/members",
    status_code=201,
    response_model=MemberRegistered,
    responses={200: {"description": "Đã có, không đổi / already registered as given"}, **CONFLICT},
)
def register_member(
    code: OrgCode,
    body: MemberCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Đăng ký một đảng viên / Register one member in a branch under the organisation (201;
    200 if already registered with that name and branch)."""
    period = writer_in(svc, who, code)

    def call() -> Response:
        branch = check_new_member(svc, code, body, period)
        base = "" if body.monthly_base is None else str(body.monthly_base)
        row = body.model_dump(exclude={"branch_code", "monthly_base"}, mode="json")
        row = {k: v or "" for k, v in row.items()} | {"branch_code": branch, "monthly_base": base}
        try:
            with svc.lock:
                done = svc.ledger.import_members([(1, row)])
        except ImportRejected:  # only an existing member is left for the ledger to refuse
            raise Conflict(
                f"Đảng viên '{body.code}' đã có (ở chi bộ khác hoặc với họ tên khác)",
                f"Member '{body.code}' is already registered (another branch or name)",
                field="code",
            ) from None
        out = {"code": body.code, "full_name": body.full_name, "branch": branch}
        out |= {"created": bool(done.created), "assessed_late": late(done)}
        return JSONResponse(out, 201 if done.created else 200)

    return once(svc, who, request, raw, idempotency_key, call)


@router.post("/members/{code}/transfer", response_model=Transferred, responses=CONFLICT)
def transfer(
    code: MemberCode,
    body: TransferCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Chuyển sinh hoạt chính thức / Official transfer to another branch from a month
    (`member transfer`): credit and unpaid months go with the member."""
    require(who, *WRITERS)
    period = svc.period()
    check_member(svc.reads, who, code, period)
    check_org(svc.reads, who, body.to_branch, period)

    def call() -> Response:
        with svc.lock:
            member = svc.ledger.get_member(code)
            before = member.branch_at(body.from_period) or member.branch_code
            svc.ledger.transfer_member(code, body.to_branch, body.from_period)
        return JSONResponse({"member": code, "from_branch": before} | body.model_dump(mode="json"))

    return once(svc, who, request, raw, idempotency_key, call)


@router.post(
    "/members/{code}/exemptions",
    status_code=201,
    response_model=ExemptionGranted,
    responses=CONFLICT,
)
def grant_exemption(
    code: MemberCode,
    body: ExemptionCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Miễn hoặc giảm đảng phí / Grant an exemption (100%) or reduction (30, 50, 70%) from a
    month to a month (`member exempt`); months already assessed are re-assessed."""
    require(who, *WRITERS)
    check_member(svc.reads, who, code, svc.period())

    def call() -> Response:
        with svc.lock:
            svc.ledger.grant_exemption(
                code, body.kind, body.percent, body.decision, body.from_period, body.to_period
            )
        return JSONResponse({"member": code} | body.model_dump(mode="json"), 201)

    return once(svc, who, request, raw, idempotency_key, call)


# -- months and batches ------------------------------------------------------------------------
def roll(
    svc: Services,
    who: Principal,
    request: Request,
    raw: bytes,
    key: str | None,
    org: str,
    month: str,
    action: str,
) -> Response:
    writer_in(svc, who, org)

    def call() -> Response:
        with svc.lock:
            command = svc.ledger.open_month if action == "open" else svc.ledger.close_month
            r = command(month, org)
        figures = {"branches": r.branches, "members": r.members, "amount": r.amount}
        body = {"org": org, "period": r.period, "action": action, "skipped": r.skipped}
        return JSONResponse(body | figures)

    return once(svc, who, request, raw, key, call)


@router.post("/orgs/{code}/months/{period}/open", response_model=MonthRoll, responses=CONFLICT)
def open_month(
    code: OrgCode,
    period: Month,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Mở sổ tháng cho cả cây / Open a month for every branch under the organisation
    (`month open --org`): assess every member; branches already open are `skipped`."""
    return roll(svc, who, request, raw, idempotency_key, code, period, "open")


@router.post("/orgs/{code}/months/{period}/close", response_model=MonthRoll, responses=CONFLICT)
def close_month(
    code: OrgCode,
    period: Month,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Khoá sổ tháng cho cả cây / Close a month for every branch under the organisation
    (`month close --org`): split what was collected into retained and payable shares."""
    return roll(svc, who, request, raw, idempotency_key, code, period, "close")


@router.post(
    "/orgs/{code}/batches",
    status_code=201,
    response_model=PaymentRequestPublic,
    responses=CONFLICT,
)
def create_batch(
    code: OrgCode,
    body: BatchCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Key = None,
) -> Response:
    """Nộp hộ: một mã QR cho nhiều đảng viên / Pay on behalf: one VietQR request for what
    members of one branch under the organisation owe for a month (`batch create`)."""
    period = writer_in(svc, who, code)
    month = body.period or period
    for member in body.members:
        branch = member_branch(svc.reads, member, month)
        if branch is None or not svc.reads.covers(code, branch, period):
            raise member_not_found(member)

    def call() -> Response:
        with svc.lock:
            made = svc.ledger.batch_request(
                body.payer,
                body.members,
                period=body.period,
                payer_account=body.payer_account,
                kind="payroll" if body.payroll else "batch",
                account=body.account,
                override_reason=body.override_reason,
            )
            status = svc.ledger.request_status(made.code)
        public = public_request(status, request)
        location = str(request.url_for("payment_request", reference=public["reference"]))
        return JSONResponse(public, status_code=201, headers={"Location": location})

    return once(svc, who, request, raw, idempotency_key, call)
