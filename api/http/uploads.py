"""An uploaded file, sent raw (with its Content-Type) or as `multipart/form-data`.

Rule: the file is the whole body when the body's Content-Type is a file's type
(`text/csv`, the XLSX type, or `application/octet-stream` with a `filename`), or the
part named `file` of a multipart body. What kind of file it is comes from its name
(.csv or .xlsx), else from its type; anything else is 422 naming the field. The
multipart reader is a strict one for one file (no dependency on python-multipart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from ledger.errors import InvalidInput

MAX_BYTES = 20_000_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUFFIXES = {"text/csv": ".csv", "application/csv": ".csv", XLSX: ".xlsx"}
ACCEPTED = (".csv", ".xlsx")
_FILENAME = re.compile(r"[\x00-\x1f\\/]")


@dataclass(frozen=True)
class Upload:
    content: bytes
    filename: str | None
    suffix: str  # ".csv" or ".xlsx"


def _params(header: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = header
    params = {k.lower(): str(v) for k, v in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def _refused(vi: str, en: str, field: str = "file") -> InvalidInput:
    return InvalidInput(vi, en, field=field)


def _suffix(filename: str | None, media_type: str) -> str:
    if filename:
        name = filename.lower()
        for suffix in ACCEPTED:
            if name.endswith(suffix):
                return suffix
    if media_type in SUFFIXES:
        return SUFFIXES[media_type]
    shown = filename or media_type
    raise _refused(
        f"Chỉ nhận tệp .csv (UTF-8) hoặc .xlsx, không nhận '{shown}'",
        f"Only .csv (UTF-8) or .xlsx files are accepted, not '{shown}'",
    )


def _part(chunk: bytes) -> tuple[dict[str, str], bytes]:
    head, sep, content = chunk.partition(b"\r\n\r\n")
    if not sep:
        raise _refused("Phần multipart không có tiêu đề", "A multipart part has no headers")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, content


def _multipart(body: bytes, boundary: str) -> Upload:
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(b"\r\n" + delimiter)
    if not boundary or not pieces[0].startswith(delimiter):
        raise _refused("Thân multipart không đọc được", "The multipart body cannot be read")
    pieces[0] = pieces[0][len(delimiter) :]
    for piece in pieces:
        if piece.startswith(b"--"):
            break
        headers, content = _part(piece.removeprefix(b"\r\n"))
        _, disposition = _params("x/x; " + headers.get("content-disposition", "").partition(";")[2])
        if disposition.get("name") != "file":
            continue
        filename = disposition.get("filename")
        if filename is not None:
            filename = _FILENAME.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
        media_type, _ = _params(headers.get("content-type", "application/octet-stream"))
        return Upload(content, filename, _suffix(filename, media_type))
    raise _refused(
        "Thân multipart không có phần 'file'", "The multipart body has no part named 'file'"
    )


def read_upload(body: bytes, content_type: str | None, filename: str | None = None) -> Upload:
    """The uploaded file (422 naming `file` or `Content-Type` when it cannot be one)."""
    if len(body) > MAX_BYTES:
        raise _refused(
            f"Tệp quá lớn (tối đa {MAX_BYTES:,} byte)", f"The file is too large (max {MAX_BYTES:,})"
        )
    media_type, params = _params(content_type or "")
    if media_type == "multipart/form-data":
        upload = _multipart(body, params.get("boundary", ""))
    elif media_type in SUFFIXES or (media_type == "application/octet-stream" and filename):
        upload = Upload(body, filename, _suffix(filename, media_type))
    else:
        raise _refused(
            f"Content-Type '{content_type or ''}' không nhận: gửi text/csv, {XLSX} "
            "hoặc multipart/form-data có phần 'file'",
            f"Content-Type '{content_type or ''}' is not accepted: send text/csv, {XLSX} "
            "or multipart/form-data with a part named 'file'",
            field="Content-Type",
        )
    if not upload.content:
        raise _refused("Tệp trống", "The file is empty")
    return upload
