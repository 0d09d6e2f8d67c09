"""Who is calling: bearer tokens (JWT, HS256) and what each role may see.

Rule: a token carries `sub`, `role`, `scope` (an organisation code), `member` (for
role `member`: whose data it is), `iat` and `exp`. No token, a bad one or an
expired one is 401. A role that may not use an endpoint gets 403 whatever the
resource; a resource outside the caller's scope is 404 with exactly the body of
one that does not exist. A scope covers its organisation's subtree as the tree is
in the request's month (the ledger's clock). `admin` sees everything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.http.problems import Forbidden, Unauthorized
from ledger.errors import InvalidInput, NotFound
from projections.base import VIETNAM
from projections.reads import Reads

ROLES = ("member", "treasurer", "auditor", "inspector", "admin")
ALGORITHM = "HS256"
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    scope: str
    member: str | None = None


def issue_token(
    key: str,
    *,
    role: str,
    scope: str,
    member: str | None = None,
    subject: str | None = None,
    expires_at: datetime,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject or f"{role}:{member or scope}",
        "role": role,
        "scope": scope,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    if member is not None:
        claims["member"] = member
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def _unauthorized(vi: str, en: str) -> Unauthorized:
    return Unauthorized(vi, en, field="Authorization")


def decode_token(token: str, key: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("Mã truy cập đã hết hạn", "The access token has expired") from None
    except jwt.PyJWTError:
        raise _unauthorized("Mã truy cập không hợp lệ", "The access token is invalid") from None
    role, scope, member = claims.get("role"), claims.get("scope"), claims.get("member")
    if role not in ROLES or not isinstance(scope, str) or not isinstance(claims["sub"], str):
        raise _unauthorized(
            "Mã truy cập thiếu vai trò hoặc phạm vi", "The access token lacks a role or scope"
        )
    if role == "member" and not isinstance(member, str):
        raise _unauthorized(
            "Mã truy cập của đảng viên phải ghi mã đảng viên",
            "A member's access token must name the member",
        )
    return Principal(
        claims["sub"], role, scope, member if isinstance(member, str) and member else None
    )


def bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized(
            "Thiếu mã truy cập (Authorization: Bearer …)",
            "Missing access token (Authorization: Bearer …)",
        )
    return token.strip()


# -- expiry -------------------------------------------------------------------------------
_SPAN = re.compile(r"^(\d{1,5})([dhm])$")


def expiry(text: str, now: datetime) -> datetime:
    """'30d', '12h', '45m', or an ISO date-time (Vietnam time without an offset), in the future."""
    value = text.strip().lower()
    m = _SPAN.match(value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        span = {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
        at = now + span
    else:
        try:
            at = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidInput(
                f"Hạn '{text}' không hợp lệ (dùng 30d, 12h hoặc ISO 8601)",
                f"Invalid expiry '{text}' (use 30d, 12h or ISO 8601)",
                field="expires",
            ) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=VIETNAM)
    if at <= now:
        raise InvalidInput(
            f"Hạn '{text}' đã qua", f"The expiry '{text}' is not in the future", field="expires"
        )
    return at


# -- what a caller may see ----------------------------------------------------------------
def require_role(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise Forbidden(
            f"Vai trò '{who.role}' không được dùng chức năng này",
            f"The role '{who.role}' may not use this endpoint",
            field="role",
        )


def org_not_found(code: str) -> NotFound:
    return NotFound(
        f"Không có tổ chức đảng mã '{code}'",
        f"No party organisation with code '{code}'",
        field="org",
    )


def member_not_found(code: str) -> NotFound:
    return NotFound(
        f"Không có đảng viên mã '{code}'", f"No member with code '{code}'", field="member"
    )


def covers(reads: Reads, who: Principal, org: str, period: str) -> bool:
    return who.role == "admin" or reads.covers(who.scope, org, period)


def check_org(reads: Reads, who: Principal, org: str, period: str) -> None:
    """404 (as for an unknown code) unless the organisation is in the caller's scope."""
    if not covers(reads, who, org, period):
        raise org_not_found(org)


def member_branch(reads: Reads, code: str, period: str) -> str | None:
    """The member's branch this month, or, for a member who has left (or not yet
    started), the last branch on record: a treasurer still sees a former member's dues."""
    branch = reads.member_branch(code, period)
    if branch is not None:
        return branch
    rows = reads.views.query("SELECT branches FROM rm_members WHERE code = ?", [code])
    if not rows:
        return None
    history: list[list[str]] = json.loads(rows[0][0])
    return history[-1][1] if history else None


def check_member(reads: Reads, who: Principal, code: str, period: str) -> None:
    """404 (as for an unknown code) unless the member is the caller (role member) or is in
    a branch the caller's scope covers."""
    if who.role == "member":
        if who.member != code:
            raise member_not_found(code)
        return
    if who.role == "admin":
        return
    branch = member_branch(reads, code, period)
    if branch is None or not reads.covers(who.scope, branch, period):
        raise member_not_found(code)
