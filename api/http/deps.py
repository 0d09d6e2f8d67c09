"""Dependencies the routers share: the app's services, the caller, the raw body, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.auth import Principal, bearer, decode_token
from api.http.idempotency import run_once
from api.http.schemas import Problem
from api.http.services import Services


async def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


Svc = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(auto_error=False, description="`dangphi token issue` prints one.")


async def caller(
    svc: Svc,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = bearer(None if credentials is None else f"Bearer {credentials.credentials}")
    return decode_token(token, svc.jwt_key)


Caller = Annotated[Principal, Depends(caller)]


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000, description="Trang / page, from 1")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Số dòng / rows per page")]


def once(
    svc: Services,
    who: Principal,
    request: Request,
    body: bytes,
    key: str | None,
    call: Callable[[], Response],
) -> Response:
    """Run a write once per (caller, Idempotency-Key): `api.http.idempotency.run_once`
    with the caller's subject and the request's method and path."""
    return run_once(
        svc.idempotency,
        subject=who.sub,
        key=key,
        method=request.method,
        path=request.url.path,
        body=body,
        call=call,
    )


def page_of(items: list[Any], page: int, size: int) -> dict[str, Any]:
    start = (page - 1) * size
    return {"items": items[start : start + size], "page": page, "size": size, "total": len(items)}


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _problem("Thiếu hoặc sai mã truy cập / missing, invalid or expired token"),
    403: _problem("Vai trò không được dùng / the role may not use this"),
    404: _problem("Không có, hoặc ngoài phạm vi / unknown, or outside the caller's scope"),
    422: _problem("Dữ liệu không hợp lệ / invalid input, naming the field"),
}
