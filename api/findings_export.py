"""Findings for a committee meeting as CSV or XLSX: one layout for the CLI and the API.

Rule: `render(findings, fmt)` gives the whole file as bytes (CSV in UTF-8 with a BOM,
so Excel shows the diacritics; XLSX with a header row, wrapped text and A4
landscape); the caller writes it whole (`api.files.write_whole`) or sends it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from projections.findings import KINDS

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADERS = (
    "ID",
    "Loại / Kind",
    "Mức độ / Severity",
    "Tổ chức / Organisation",
    "Tháng / Period",
    "Nội dung",
    "Explanation",
    "Bằng chứng / Evidence",
    "Trạng thái / Status",
    "Xem xét / Reviews",
    "Ghi nhận / Recorded at (UTC)",
)
WIDTHS = (38, 24, 10, 14, 9, 60, 60, 40, 12, 40, 27)


def evidence(f: dict[str, Any]) -> str:
    ev = f["evidence"]
    parts = [f"events {' '.join(ev['events'])}"]
    if ev["bank_transactions"]:
        parts.append(f"bank {' '.join(ev['bank_transactions'])}")
    if ev["accounts"]:
        parts.append(f"accounts {' '.join(ev['accounts'])}")
    return "; ".join(parts)


def row(f: dict[str, Any]) -> list[str]:
    reviews = " | ".join(f"{r['at']} {r['reviewer']}: {r['note']}" for r in f["reviews"])
    return [
        f["id"],
        f"{f['kind']} {KINDS[f['kind']][0]}",
        f["severity"],
        f["org"],
        f["period"],
        f["explanation_vi"],
        f["explanation_en"],
        evidence(f),
        f["status"] + (" (provisional)" if f["provisional"] else ""),
        reviews,
        f["recorded_at"],
    ]


def render(findings: list[dict[str, Any]], fmt: str) -> bytes:
    rows = [row(f) for f in findings]
    return _csv(rows) if fmt == "csv" else _xlsx(rows)


def _csv(rows: list[list[str]]) -> bytes:
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(HEADERS)
    w.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Phát hiện"
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for r in rows:
        ws.append(r)
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
        for cell in ws[chr(ord("A") + i)][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
