"""Rows of a statement file, each with the line number a person sees.

Rule: a CSV must be UTF-8 (a BOM is allowed) or UTF-16 with its BOM; anything else is refused with
a clear message rather than guessed. Its row numbers are physical lines (a
quoted field spanning lines counts from its first line); the delimiter is
`,`, `;` or tab, whichever gives a header the layouts recognise. An `.xlsx`
is read with openpyxl, read-only, values not formulas, every sheet (the
reader takes the one holding the statement); its row numbers are the sheet's. Other files are refused.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import ParseError

from ledger.errors import InvalidInput

from .values import Cell

Row = tuple[int, list[Cell]]
DELIMITERS = (",", ";", "\t")
MAX_BYTES = 50_000_000


def csv_text(path: Path) -> str:
    """The file's text, decoded strictly as UTF-8 (with or without BOM), or as UTF-16 where
    it begins with UTF-16's byte-order mark. Another encoding (Windows-1258, TCVN3) is
    refused, not guessed."""
    data = _read_bytes(path)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark (some banks)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"Tệp sao kê {path.name} hỏng: không phải UTF-16 hợp lệ (byte {error.start})",
                f"Statement file {path.name} is not valid UTF-16 (byte {error.start})",
                field="file",
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"Tệp sao kê {path.name} không phải UTF-8 (byte {error.start}); "
            "hãy lưu lại dạng 'CSV UTF-8'",
            f"Statement file {path.name} is not UTF-8 (byte {error.start}); "
            "save it again as 'CSV UTF-8'",
            field="file",
        ) from None


def csv_rows(content: str, delimiter: str) -> list[Row]:
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            cells: list[Cell] = list(record)
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        too_long = "field larger than field limit" in str(error)
        raise InvalidInput(
            f"Tệp sao kê CSV hỏng ở dòng {start}: "
            + (
                f"một ô dài quá {csv.field_size_limit():,} ký tự"
                if too_long
                else "dấu ngoặc kép hoặc ký tự không hợp lệ"
            ),
            f"Malformed statement CSV at line {start}: {error}",
            field="file",
        ) from None
    return rows


def xlsx_sheets(path: Path) -> list[tuple[str, list[Row]]]:
    """Each sheet's title and rows, in the workbook's order (a bank may put a cover or a
    summary first and the lines on a later sheet)."""
    from openpyxl import load_workbook

    _read_bytes(path)  # size and emptiness checks
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise InvalidInput(
            f"Không đọc được tệp Excel {path.name}: tệp hỏng hoặc không phải .xlsx",
            f"Cannot read the Excel file {path.name}: {error}",
            field="file",
        ) from None
    try:
        sheets = []
        for sheet in book.worksheets:
            if not hasattr(sheet, "reset_dimensions"):
                continue  # a chart sheet holds no cells
            sheet.reset_dimensions()  # some exporters write a wrong A1:X9 size; read every cell
            sheets.append((sheet.title, list(_numbered(sheet.iter_rows(values_only=True)))))
        return sheets
    except (ParseError, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        # a sheet's XML cut short or malformed shows only when its rows are read
        raise InvalidInput(
            f"Không đọc được tệp Excel {path.name}: trang tính bị hỏng hoặc bị cắt ngắn",
            f"Cannot read the Excel file {path.name}: {error}",
            field="file",
        ) from None
    finally:
        book.close()


def _numbered(rows: Iterable[Sequence[object]]) -> Iterator[Row]:
    for number, values in enumerate(rows, start=1):
        yield number, [_cell(value) for value in values]


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, date):
        return value
    return str(value)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"Không đọc được tệp sao kê {path}: {error.strerror}",
            f"Cannot read statement file {path}: {error.strerror}",
            field="file",
        ) from None
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"Tệp sao kê {path.name} quá lớn",
            f"Statement file {path.name} is too large",
            field="file",
        )
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InvalidInput(
            f"Tệp sao kê {path.name} rỗng", f"Statement file {path.name} is empty", field="file"
        )
    return data
