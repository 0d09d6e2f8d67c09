"""Errors as `application/problem+json` (RFC 9457): the ONE place that maps errors to statuses.

Rule: every refusal carries `type`, `title`, `status`, `detail`, `instance` and, in
both languages, `detail_vi` / `detail_en`, plus the `field` it is about (or null).
Domain errors: InvalidInput 422, NotFound 404, Conflict 409, PolicyError 422; a
gateway notification that fails authentication 401, one that cannot be read 422;
a missing or bad token 401, a role that may not 403. Bad request data (pydantic)
is 422 naming the field; nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, RecordConflictError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    Conflict,
    GatewayNotConfigured,
    InvalidInput,
    LedgerError,
    NotFound,
    NotificationRejected,
    PolicyError,
)

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("dangphi.http")


class Unauthorized(LedgerError):
    """Raised when a request has no bearer token, or one that is invalid or expired."""


class Forbidden(LedgerError):
    """Raised when the caller's role may not use an endpoint (whatever the resource)."""


class NotBuilt(LedgerError):
    """Raised by a route that exists (and is scoped) but whose feature is not built yet."""


class Unavailable(LedgerError):
    """Raised when a configured dependency is missing (a webhook secret) or the database fails."""


# Which header or body field carries each gateway's authentication: a rejection
# naming one of them is an authentication failure (401), anything else unreadable (422).
AUTH_FIELDS = {"authorization", "secure-token", "signature", "x-portal-signature"}

# (status, slug, title) in order: the first class that matches wins.
STATUSES: list[tuple[type[LedgerError], int, str, str]] = [
    (Unauthorized, 401, "unauthorized", "Chưa xác thực / Unauthorized"),
    (Forbidden, 403, "forbidden", "Không có quyền / Forbidden"),
    (NotBuilt, 501, "not-built", "Chưa xây dựng / Not built yet"),
    (Unavailable, 503, "unavailable", "Tạm thời không phục vụ / Unavailable"),
    (NotFound, 404, "not-found", "Không tìm thấy / Not found"),
    (Conflict, 409, "conflict", "Xung đột với sổ / Conflict"),
    (PolicyError, 422, "policy", "Quy định không áp dụng được / Policy refusal"),
    (InvalidInput, 422, "invalid-input", "Dữ liệu không hợp lệ / Invalid input"),
    (LedgerError, 422, "refused", "Sổ từ chối / Refused"),
]


def problem_type(slug: str) -> str:
    return f"urn:dangphi:problem:{slug}"


def problem(
    status: int,
    slug: str,
    title: str,
    vi: str,
    en: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": f"{vi} / {en}",
        "instance": instance,
        "detail_vi": vi,
        "detail_en": en,
        "field": field,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="dangphi"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: LedgerError) -> tuple[int, str, str]:
    if isinstance(error, NotificationRejected):
        if (error.field or "").lower() in AUTH_FIELDS:
            return 401, "gateway-unauthorized", "Cổng thanh toán chưa xác thực / Unauthorized"
        # the gateway's secret is not configured here; not the field: SePay's body has
        # a `gateway` (the bank's name), and a bad one was answered 503 (a helper's check)
        if isinstance(error, GatewayNotConfigured):
            return 503, "gateway-not-configured", "Cổng chưa cấu hình / Not configured"
        return 422, "notification-rejected", "Thông báo bị từ chối / Notification rejected"
    for cls, status, slug, title in STATUSES:
        if isinstance(error, cls):
            return status, slug, title
    return 422, "refused", "Sổ từ chối / Refused"  # pragma: no cover (LedgerError is last)


def ledger_problem(error: LedgerError, instance: str | None, **extra: Any) -> JSONResponse:
    status, slug, title = status_of(error)
    return problem(
        status,
        slug,
        title,
        error.message_vi,
        error.message_en,
        field=error.field,
        instance=instance,
        **extra,
    )


# -- request validation (pydantic) ---------------------------------------------------------
MESSAGES_VI = {
    "missing": "thiếu trường này",
    "string_pattern_mismatch": "không đúng dạng",
    "string_too_short": "quá ngắn",
    "string_too_long": "quá dài",
    "string_type": "phải là chuỗi ký tự",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "greater_than_equal": "quá nhỏ",
    "greater_than": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "less_than": "quá lớn",
    "list_type": "phải là danh sách",
    "too_short": "danh sách quá ngắn",
    "too_long": "danh sách quá dài",
    "dict_type": "phải là đối tượng JSON",
    "model_attributes_type": "phải là đối tượng JSON",
    "model_type": "phải là đối tượng JSON",
    "json_invalid": "không phải JSON hợp lệ",
    "extra_forbidden": "trường không được phép",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "literal_error": "không phải giá trị được phép",
    "enum": "không phải giá trị được phép",
}
LOCATIONS = {"body", "query", "path", "header", "cookie"}


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'months', 0) -> 'months[0]'; ('query', 'period') -> 'period'; ('body',) -> 'body'."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in LOCATIONS:
        parts = parts[1:]
    name = ""
    for p in parts:
        if isinstance(p, int):
            name += f"[{p}]"
        else:
            name += ("." if name else "") + str(p)
    return name or "body"


def validation_problem(exc: RequestValidationError, instance: str) -> JSONResponse:
    errors = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            loc = ("body",)
        name = field_name(loc)
        vi = f"{name}: {MESSAGES_VI.get(str(e.get('type')), 'giá trị không hợp lệ')}"
        en = f"{name}: {e.get('msg', 'invalid value')}"
        errors.append({"field": name, "detail_vi": vi, "detail_en": en})
    first = errors[0] if errors else {"field": "body", "detail_vi": "", "detail_en": ""}
    return problem(
        422,
        "validation",
        "Dữ liệu không hợp lệ / Invalid input",
        "; ".join(e["detail_vi"] for e in errors),
        "; ".join(e["detail_en"] for e in errors),
        field=first["field"],
        instance=instance,
        errors=errors,
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_ledger_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LedgerError)
        return ledger_problem(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. not UTF-8)
            return problem(
                422,
                "validation",
                "Dữ liệu không hợp lệ / Invalid input",
                "body: nội dung không đọc được (cần JSON UTF-8)",
                "body: the request body cannot be read (UTF-8 JSON expected)",
                field="body",
                instance=request.url.path,
            )
        if exc.status_code == 404:
            vi, en = "Không có đường dẫn này", "No such path"
            title = "Không có đường dẫn / Not found"
        elif exc.status_code == 405:
            vi, en = "Phương thức không được hỗ trợ ở đường dẫn này", "Method not allowed here"
            title = "Phương thức không hợp lệ / Method not allowed"
        else:
            vi = en = title = str(exc.detail)
        return problem(
            exc.status_code, f"http-{exc.status_code}", title, vi, en, instance=request.url.path
        )

    async def on_conflict(request: Request, exc: Exception) -> JSONResponse:
        # SePay reads `success`, as on every webhook refusal
        hook = {"success": False} if request.url.path.startswith("/api/v1/webhooks/") else {}
        return problem(
            409,
            "concurrent-write",
            "Ghi đồng thời / Concurrent write",
            "Sổ vừa được thao tác khác ghi cùng lúc; không ghi gì, hãy gửi lại",
            "Another command wrote to the ledger at the same time; nothing was recorded, retry",
            instance=request.url.path,
            **hook,
        )

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        log.exception("database failure on %s", request.url.path, exc_info=exc)
        return problem(
            503,
            "database",
            "Cơ sở dữ liệu lỗi / Database unavailable",
            "Không mở hoặc ghi được cơ sở dữ liệu; không ghi gì",
            "The database cannot be opened or written; nothing was recorded",
            instance=request.url.path,
        )

    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RecordConflictError, on_conflict)
    # The storage's IntegrityError (a taken event id) is both a PersistenceError and a
    # RecordConflictError; handlers are found along its MRO, where PersistenceError comes
    # first, so it is named here: a lost race is a conflict (409), not an outage (503).
    app.add_exception_handler(IntegrityError, on_conflict)
    app.add_exception_handler(PersistenceError, on_database)
