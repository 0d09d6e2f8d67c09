"""Inspection findings: the subtree's list, one finding, review notes, the meeting export.

Rule: findings are read from the findings read model; a finding belongs to the
organisation and month it names, and a caller sees it when the caller's scope
covers that organisation in that month (the tree as it was then), as `inspect`
does; otherwise it is the 404 of an unknown id. Inspectors, auditors, treasurers
and admins read; only inspectors and admins record a review note, which is an
event (`FindingReview.Reviewed`): a finding is never changed or deleted. The
reviewer is the token's subject.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.findings_export import FORMATS, MEDIA_TYPES, render
from api.http.auth import Principal, check_org, require_role
from api.http.deps import PROBLEMS, Caller, PageNo, PageSize, RawBody, Svc, once, page_of
from api.http.idempotency import HEADER
from api.http.schemas import PERIOD_PATTERN, Code, Page
from api.http.services import Services
from ledger.errors import NotFound
from projections.findings import Findings, parse_kind

router = APIRouter(prefix="/api/v1", tags=["findings"], responses=PROBLEMS)
OrgCode = Annotated[Code, Path(description="Mã tổ chức đảng / organisation code")]
FindingId = Annotated[
    str, Path(min_length=1, max_length=64, description="Mã phát hiện / finding id (UUID)")
]
Period = Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="Tháng / month YYYY-MM")]
Kind = Annotated[
    str | None, Query(description="Loại 1-10 hoặc tên / kind 1-10 or name, e.g. personal_account")
]
READERS = ("inspector", "auditor", "treasurer", "admin")
REVIEWERS = ("inspector", "admin")


class Evidence(BaseModel):
    events: list[str] = Field(description="Sự kiện / event ids (aggregate id:version)")
    bank_transactions: list[str] = Field(description="Giao dịch ngân hàng / bank transaction ids")
    accounts: list[str] = Field(description="Tài khoản / accounts, BIN:number")
    details: dict[str, Any] = Field(
        default_factory=dict, description="Số liệu của phát hiện / the figures behind it"
    )


class Review(BaseModel):
    at: str = Field(description="Lúc ghi / recorded at (ISO 8601)")
    reviewer: str
    note: str
    event: str = Field(description="Sự kiện ghi nhận / the review's event id")


class Finding(BaseModel):
    id: str
    kind: int = Field(description="Loại 1-10 / kind 1-10 (docs/inspection.md)")
    kind_name: str
    severity: str
    org: str
    period: str
    subject: str
    explanation_vi: str
    explanation_en: str
    evidence: Evidence
    status: str = Field(description="open | reviewed")
    provisional: bool = Field(description="Tạm tính, tháng chưa hết / the month is not over yet")
    reviews: list[Review]
    recorded_at: str


class ReviewCreate(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="Ghi chú / the note")


def _visible(svc: Services, who: Principal, finding_id: str) -> dict[str, Any]:
    found = Findings(svc.reads).get(finding_id)
    if found is None or not (
        who.role == "admin" or svc.reads.covers(who.scope, found["org"], found["period"])
    ):
        raise NotFound(
            f"Không có phát hiện '{finding_id}'", f"No finding '{finding_id}'", field="finding_id"
        )
    return found


@router.get("/orgs/{code}/findings", response_model=Page[Finding])
def findings(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    page: PageNo = 1,
    size: PageSize = 50,
    period: Period = None,
    kind: Kind = None,
) -> dict[str, Any]:
    """Phát hiện kiểm tra / Inspection findings of the organisation's subtree (the tree as
    it was in each finding's month), with evidence ids and review notes."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    parse_kind(kind)
    items = Findings(svc.reads).list(code, period=period, kind=kind)
    return page_of(items, page, size)


@router.get(
    "/orgs/{code}/findings/export",
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "description": "Tệp cho cuộc họp UBKT / the file for a committee meeting",
        }
    },
)
def export(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$", description="csv | xlsx")],
    period: Period = None,
    kind: Kind = None,
) -> Response:
    """Xuất phát hiện (csv/xlsx) cho cuộc họp UBKT / Export the subtree's findings for a
    committee meeting, in the layout of `inspect export`."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    parse_kind(kind)
    assert format in FORMATS
    found = Findings(svc.reads).list(code, period=period, kind=kind)
    name = f"phat-hien-{code}" + (f"-{period}" if period else "") + f".{format}"
    return Response(
        render(found, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/findings/{finding_id}", response_model=Finding, name="finding")
def finding(finding_id: FindingId, svc: Svc, who: Caller) -> dict[str, Any]:
    """Một phát hiện, với bằng chứng và các lần xem xét / One finding, its evidence and reviews."""
    require_role(who, *READERS)
    return _visible(svc, who, finding_id)


@router.post(
    "/findings/{finding_id}/reviews",
    status_code=201,
    response_model=Finding,
)
def review(
    finding_id: FindingId,
    body: ReviewCreate,
    request: Request,
    svc: Svc,
    who: Caller,
    raw: RawBody,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> Response:
    """Ghi nhận xem xét một phát hiện / Record an inspector's review note (an event; the
    finding stays). Answers the finding with its reviews."""
    require_role(who, *REVIEWERS)
    found = _visible(svc, who, finding_id)

    def record() -> JSONResponse:
        with svc.lock:
            svc.ledger.review_finding(found["id"], body.note, who.sub)
        shown = Finding.model_validate(_visible(svc, who, found["id"])).model_dump(mode="json")
        location = str(request.url_for("finding", finding_id=found["id"]))
        return JSONResponse(shown, status_code=201, headers={"Location": location})

    return once(svc, who, request, raw, idempotency_key, record)
