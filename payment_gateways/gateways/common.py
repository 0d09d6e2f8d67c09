"""What every gateway adapter shares: reading a notification strictly and drawing a request.

Rule: a notification is read all or nothing. Whatever is wrong with it (not
JSON, a field missing or of the wrong type, an amount that is not a positive
whole number of đồng, a failed authentication) raises `NotificationRejected`
naming the gateway and the field, in Vietnamese and English; no other
exception escapes, so a forged or garbled webhook can never half-record.
Text fields are stripped and their control characters become spaces.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

from ledger.clock import VIETNAM
from ledger.errors import InvalidInput, NotificationRejected
from ledger.money import MAX_DONG
from ledger.ports import RenderedRequest
from payment_gateways.vietqr import VietQRError, decode, png, svg

MAX_BODY = 1_000_000  # bytes; a webhook is a few hundred
MAX_AMOUNT = MAX_DONG  # VietQR tag 54 carries at most 13 digits
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def reject(label: str, vi: str, en: str, field: str | None = None) -> NoReturn:
    raise NotificationRejected(
        f"Thông báo {label} bị từ chối: {vi}", f"{label} notification rejected: {en}", field=field
    )


def load_json(label: str, body: bytes) -> Any:
    """The body parsed as strict JSON (UTF-8, no NaN or Infinity)."""
    if not isinstance(body, bytes | bytearray) or len(body) > MAX_BODY:
        reject(label, "nội dung rỗng hoặc quá lớn", "the body is missing or too large", "body")
    try:
        return json.loads(bytes(body).decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        reject(label, "nội dung không phải JSON hợp lệ", "the body is not valid JSON", "body")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(name)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name compared case-insensitively (as HTTP does)."""
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the configured one."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def hmac_sha256(key: str, message: str) -> str:
    return hmac.new(
        key.encode("utf-8", "surrogatepass"), message.encode("utf-8", "surrogatepass"), "sha256"
    ).hexdigest()


class Fields:
    """Typed, strict access to one JSON object of a notification; `path` names it in errors."""

    def __init__(self, label: str, obj: Any, path: str = "") -> None:
        self.label = label
        self.path = path
        if not isinstance(obj, dict):
            where = path or "body"
            reject(
                label,
                f"'{where}' không phải đối tượng JSON",
                f"'{where}' is not a JSON object",
                where,
            )
        self.obj: dict[str, Any] = obj

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def bad(self, key: str, vi: str, en: str) -> NoReturn:
        """Reject naming the field: `{}` in the messages stands for its name."""
        name = self.name(key)
        reject(self.label, vi.format(f"'{name}'"), en.format(f"'{name}'"), name)

    def has(self, key: str) -> bool:
        return self.obj.get(key) not in (None, "")

    def raw(self, key: str) -> Any:
        if self.obj.get(key) is None:
            self.bad(key, "thiếu trường {}", "field {} is missing")
        return self.obj[key]

    def text(self, key: str, *, empty: bool = False) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not _encodable(value):
            self.bad(key, "trường {} phải là chuỗi ký tự", "field {} must be text")
        value = _CONTROL.sub(" ", value).strip()  # a NUL cannot be stored as text in PostgreSQL
        if not empty and not value:
            self.bad(key, "trường {} rỗng", "field {} is empty")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def ident(self, key: str) -> str:
        """An id given as a whole number or as non-empty text."""
        value = self.raw(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)

    def whole(self, key: str) -> int:
        """A whole number of đồng, any sign (not a float, a string or a boolean)."""
        value = self.raw(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.bad(
                key, "trường {} phải là số nguyên đồng", "field {} must be a whole number of đồng"
            )
        if abs(value) > MAX_AMOUNT:
            self.bad(
                key,
                f"trường {{}}: số tiền quá lớn (tối đa {MAX_AMOUNT:,} đ)",
                f"field {{}}: amount too large (at most {MAX_AMOUNT:,} đ)",
            )
        return value

    def amount(self, key: str) -> int:
        """A positive whole number of đồng."""
        value = self.whole(key)
        if value <= 0:
            self.bad(key, "trường {} phải là số tiền dương", "field {} must be a positive amount")
        return value

    def moment(self, key: str) -> str:
        """A date or date-time as the bank gives it (`YYYY-MM-DD HH:MM:SS`, ISO), in ISO form;
        one with a UTC offset is written in Vietnam time, whose day is the value date (the
        ledger files a line under its first ten characters). Before 2026-11-24 the offset
        was kept: a transfer at 00:30 on 1 December in Hanoi, sent as 17:30Z, was filed on
        30 November, in the month before (a helper's check)."""
        value = self.text(key)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.bad(
                key, "trường {} không phải ngày giờ hợp lệ", "field {} is not a valid date-time"
            )
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(VIETNAM)
            except OverflowError:  # 0001-01-01T00:00+08:00 has no Vietnam time
                self.bad(
                    key, "trường {} không phải ngày giờ hợp lệ", "field {} is not a valid date-time"
                )
        return moment.isoformat()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
        return False
    return True


_FIELD_OF_TAG = {"38.01.00": "bin", "38.01.01": "account", "54": "amount", "62.08": "purpose"}


def render_request(payload: str) -> RenderedRequest:
    """PNG and SVG of a VietQR payload; the payload must decode."""
    try:
        decode(payload)
    except VietQRError as e:
        raise InvalidInput(e.message_vi, e.message_en, field="payload") from e
    return RenderedRequest(payload=payload, png=png(payload), svg=svg(payload))


def vietqr_input_error(e: VietQRError) -> InvalidInput:
    return InvalidInput(e.message_vi, e.message_en, field=_FIELD_OF_TAG.get(e.tag, "payload"))
