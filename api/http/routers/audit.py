"""The auditor's endpoints: verify the hash chain, take and check seals, replay the read
models, export an organisation's journal.

Rule: these read; none changes the ledger (a seal is handed back, never stored: its
strength is that the auditor keeps it outside the database). Roles: auditor and admin;
an inspector may also verify and export journals; treasurers and members get 403. The
log is one for the whole tree and verifying it reveals no amounts, so any auditor or
inspector may verify and (auditors) seal it whatever their scope. The replay compares
every organisation's rows, so it needs a scope covering every root (or admin), else
403. A journal is the organisation's subtree only (404 outside the caller's scope).
Each runs under the app's lock: writes wait while the log is read.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.audit import Report, make_seal, verify
from api.audit_verdict import database_name, seal_of, verdict
from api.http.auth import Principal, check_org, require_role
from api.http.deps import PROBLEMS, Caller, PageNo, PageSize, RawBody, Svc, once, page_of
from api.http.idempotency import HEADER
from api.http.problems import Forbidden, ledger_problem
from api.http.routers.orgs import OrgCode
from api.http.schemas import PERIOD_PATTERN
from api.http.schemas_audit import AuditReport, ReplayResult, SealPublic, VerifyRequest
from api.http.services import Services
from api.journal import write_journal
from ledger.errors import Conflict
from projections.replay import replay as replay_models

router = APIRouter(tags=["audit"], responses=PROBLEMS)
VERIFIERS = ("auditor", "inspector", "admin")
SEALERS = ("auditor", "admin")
JOURNAL_READERS = ("auditor", "inspector", "admin")
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]
Snapshots = Annotated[
    bool, Query(description="Kiểm cả ảnh chụp / also check snapshots against their events")
]
Month = Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="YYYY-MM")]


def report_body(report: Report) -> dict[str, Any]:
    found = verdict(report)
    return {
        "status": found.status,
        "message_vi": found.vi,
        "message_en": found.en,
        **report.as_dict(),
    }


@router.get("/api/v1/audit/verify", response_model=AuditReport)
def verify_log(svc: Svc, who: Caller, snapshots: Snapshots = True) -> dict[str, Any]:
    """Kiểm tra chuỗi băm của sổ / Recompute the hash chain over the whole log: `ok`,
    `tampered` (naming the first bad event) or `unchained` (as `audit verify --json`)."""
    require_role(who, *VERIFIERS)
    with svc.lock:
        return report_body(verify(svc.ledger, snapshots=snapshots))


@router.post("/api/v1/audit/verify", response_model=AuditReport)
def verify_with_seals(
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    body: VerifyRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Kiểm tra sổ và các niêm phong / Verify the log and check that each seal given
    (as `audit seal` wrote it) still holds (as `audit verify --seal`). Writes nothing."""
    require_role(who, *VERIFIERS)
    wanted = body or VerifyRequest()
    seals = [seal_of(s.model_dump(), f"seals[{i}]") for i, s in enumerate(wanted.seals)]

    def check() -> JSONResponse:
        with svc.lock:
            report = verify(svc.ledger, seals, snapshots=wanted.snapshots)
        return JSONResponse(report_body(report))

    return once(svc, who, request, raw, idempotency_key, check)


@router.post(
    "/api/v1/audit/seals",
    response_model=SealPublic,
    responses={409: PROBLEMS[422] | {"description": "Sổ không khớp / the log does not verify"}},
)
def make_a_seal(
    request: Request, svc: Svc, who: Caller, raw: RawBody, idempotency_key: IdempotencyKey = None
) -> Response:
    """Niêm phong đầu chuỗi băm / Seal the head of the chain after verifying it (as
    `audit seal`); the seal is returned, not stored: keep it outside the database."""
    require_role(who, *SEALERS)

    def seal() -> JSONResponse:
        with svc.lock:
            report = verify(svc.ledger)
        if report.sound:
            ledger = svc.ledger
            return JSONResponse(make_seal(report, database_name(ledger.env), ledger.clock))
        found = verdict(report)
        refusal = Conflict(
            f"Không niêm phong sổ chưa kiểm được: {found.vi}",
            f"Will not seal a log that does not verify: {found.en}",
            field="log",
        )
        return ledger_problem(refusal, request.url.path, report=report_body(report))

    return once(svc, who, request, raw, idempotency_key, seal)


@router.get("/api/v1/audit/replay", response_model=ReplayResult)
def replay(svc: Svc, who: Caller, page: PageNo = 1, size: PageSize = 50) -> dict[str, Any]:
    """Dựng lại mô hình đọc và so sánh / Rebuild every read model into a scratch store and
    compare it row by row with the live one (as `audit replay --json`). Expensive."""
    require_role(who, *SEALERS)
    require_whole_tree(svc, who)
    with svc.lock:
        report = replay_models(svc.reads.app, svc.reads.models)
    differences = [
        {
            "table": d.table,
            "key": list(d.key),
            "live": None if d.live is None else list(d.live),
            "replayed": None if d.replayed is None else list(d.replayed),
        }
        for d in report.differences
    ]
    return {
        "ok": report.ok,
        "position": report.position,
        "events": report.events,
        "rows": report.tables,
        "differences": page_of(differences, page, size),
    }


@router.get(
    "/api/v1/orgs/{code}/journal",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Sổ nhật ký cho hledger / the journal, as `journal export`",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def journal(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    fmt: Annotated[Literal["ledger"], Query(alias="format", description="ledger (hledger)")],
    first: Annotated[Month, Query(alias="from", description="Từ tháng / from month")] = None,
    last: Annotated[Month, Query(alias="to", description="Đến tháng / to month")] = None,
) -> PlainTextResponse:
    """Xuất bút toán của cây tổ chức / The postings of the organisation's subtree as a
    plain-text journal `hledger` reads (as `journal export --org`)."""
    require_role(who, *JOURNAL_READERS)
    check_org(svc.reads, who, code, svc.period())
    text = io.StringIO()
    with svc.lock:
        write_journal(svc.ledger, text, code, first, last)
    disposition = f'attachment; filename="{code}.journal"'
    return PlainTextResponse(text.getvalue(), headers={"Content-Disposition": disposition})


def require_whole_tree(svc: Services, who: Principal) -> None:
    """403 unless the caller's scope covers every root organisation of this month."""
    if who.role == "admin":
        return
    period = svc.period()
    with svc.lock:
        roots = svc.ledger.root_codes()
    active = [r for r in roots if svc.reads.covers(r, r, period)]
    if not all(svc.reads.covers(who.scope, r, period) for r in active):
        raise Forbidden(
            "Chỉ người có phạm vi toàn bộ cây tổ chức mới được dùng chức năng này",
            "Only a caller whose scope is the whole tree may use this endpoint",
            field="scope",
        )
