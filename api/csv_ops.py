"""Reading an import file's text into numbered rows: shared by the CLI (a file) and the API (an upload).

Rule: the text is read whole; each row keeps the line number it has in the file
(the header is line 1) so the ledger can report every bad line at once. A file
missing a required column, one that is not CSV, or a row with more values than
the header are refused with `InvalidInput` (field `file`) before the ledger is asked.
"""

from __future__ import annotations

import csv
import io
from email.message import Message
from email.parser import BytesParser

from ledger.errors import ImportRejected, InvalidInput

Rows = list[tuple[int, dict[str, str]]]
CSV_TYPES = (
    "text/csv",
    "text/plain",
    "application/csv",
    "application/octet-stream",
    "application/vnd.ms-excel",
)


def parse_csv(
    text: str,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    *,
    label: str,
    name: str,
) -> Rows:
    """Rows as (line number, {column: value}); `label` names the file in messages,
    `name` in the list of bad lines."""
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [(column or "").strip() for column in (reader.fieldnames or [])]
        check_header(label, header, required)
        reader.fieldnames = header
        rows: Rows = []
        too_long: list[tuple[int, str, str]] = []
        for row in reader:
            if None in row:
                too_long.append(
                    (
                        reader.line_num,
                        "nhiều giá trị hơn số cột tiêu đề",
                        "more values than the header has columns",
                    )
                )
            values = {k: (v or "") for k, v in row.items() if k in required + optional}
            rows.append((reader.line_num, values))
    except csv.Error as e:
        raise file_error(label, f"không đọc được CSV ({e})", f"is not valid CSV ({e})") from None
    if too_long:
        raise ImportRejected(too_long, name)
    return rows


def check_header(label: str, header: list[str], required: tuple[str, ...]) -> None:
    if not header:
        raise file_error(label, "trống, không có dòng tiêu đề", "is empty (no header line)")
    missing = [c for c in required if c not in header]
    if missing:
        names = ", ".join(missing)
        raise InvalidInput(
            f"Tệp {label} thiếu cột: {names} (cần: {', '.join(required)})",
            f"File {label} is missing columns: {names} (needs: {', '.join(required)})",
            field="file",
        )


def file_error(label: str, vi: str, en: str) -> InvalidInput:
    return InvalidInput(f"Tệp {label} {vi}", f"File {label} {en}", field="file")


def upload_text(body: bytes, content_type: str | None, part: str = "file") -> tuple[str, str]:
    """(file name, text) of an uploaded CSV: the raw body (text/csv and the like) or the
    `part` of a multipart/form-data body; UTF-8, with or without a byte-order mark."""
    media = (content_type or "text/csv").split(";")[0].strip().lower()
    name = "CSV"
    if media == "multipart/form-data":
        name, body = _form_part(body, content_type or "", part)
    elif media not in CSV_TYPES:
        raise InvalidInput(
            f"Kiểu nội dung '{media}' không phải CSV (dùng text/csv hoặc multipart/form-data)",
            f"Content type '{media}' is not CSV (use text/csv or multipart/form-data)",
            field="Content-Type",
        )
    try:
        return name, body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(name, "không phải văn bản UTF-8", "is not UTF-8 text") from None


def _form_part(body: bytes, content_type: str, part: str) -> tuple[str, bytes]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser().parsebytes(head + body)
    if message.is_multipart():
        for item in message.get_payload():
            if not isinstance(item, Message):  # pragma: no cover (parts of a multipart)
                continue
            if item.get_param("name", header="content-disposition") != part:
                continue
            data = item.get_payload(decode=True)
            filename = item.get_filename() or "CSV"
            return filename, data if isinstance(data, bytes) else b""
    raise InvalidInput(
        f"Thiếu phần '{part}' (tệp CSV) trong multipart/form-data",
        f"The multipart/form-data body has no '{part}' part (the CSV file)",
        field=part,
    )
