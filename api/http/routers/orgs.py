"""An organisation's balance and members (its findings: `routers/findings.py`).

Rule: role `member` may not use these (403); other roles see organisations in
their scope's subtree this month (404 otherwise, as for an unknown code). Balances
are read from the read models, "as of" a date or "as known" at a time; no data is
404, never a zero.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.http.auth import check_org, require_role
from api.http.deps import PROBLEMS, Caller, PageNo, PageSize, Svc, page_of
from api.http.queries import org_members
from api.http.routers.members import AsOf, KnownAt
from api.http.schemas import PERIOD_PATTERN, Balance, Code, MemberSummary, Page

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations"], responses=PROBLEMS)
OrgCode = Annotated[Code, Path(description="Mã tổ chức đảng / organisation code")]
READERS = ("treasurer", "auditor", "inspector", "admin")


@router.get("/{code}/balance", response_model=Balance)
async def balance(
    code: OrgCode,
    svc: Svc,
    who: Caller,
    period: Annotated[
        str | None,
        Query(pattern=PERIOD_PATTERN, description="Tháng / month (default: every month)"),
    ] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Số liệu của tổ chức và cả cây dưới nó / An organisation's figures and its subtree's."""
    require_role(who, *READERS)
    check_org(svc.reads, who, code, svc.period())
    return svc.reads.balance(code, period=period, as_of=as_of, known_at=known_at)


@router.get("/{code}/members", response_model=Page[MemberSummary])
def members(
    code: OrgCode, svc: Svc, who: Caller, page: PageNo = 1, size: PageSize = 50
) -> dict[str, Any]:
    """Đảng viên trong cây tổ chức tháng này / Members of the subtree this month, by code."""
    require_role(who, *READERS)
    period = svc.period()
    check_org(svc.reads, who, code, period)
    return page_of(org_members(svc.reads, code, period), page, size)
