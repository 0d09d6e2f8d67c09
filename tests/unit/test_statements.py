"""Bank statement exports (CSV UTF-8 and XLSX) read into bank transaction facts."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.errors import ImportRejected, InvalidInput
from ledger.ports import BankTransactionFact
from payment_gateways.statements import LAYOUTS, Layout, fold, read_statement

ACCOUNT = "1018795282"
VCB = "970436"
VI_HEADER = [
    "Ngày giao dịch",
    "Số tham chiếu",
    "Ghi nợ/Debit",
    "Ghi có/Credit",
    "Số dư",
    "Diễn giải",
]
EN_HEADER = ["Transaction Date", "Reference No.", "Debit", "Credit", "Balance", "Description"]
MEMO_A = "MBVCB.4525077405.DPK7Q2M9XM DP 12 2026.CT tu 0351000646393 NGUYEN VAN A toi 1018795282"
MEMO_B = "IBFT NGUYEN THI B chuyen tien dang phi"


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = False) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def read(path: Path, **kwargs: str | None) -> list[BankTransactionFact]:
    return list(read_statement(path, bin_code=VCB, account_number=ACCOUNT, **kwargs).facts)


def numbered_rows(numbers: range) -> list[list[str]]:
    """Credits of 100,000 × n on day n, each with a unique reference."""
    return [
        [f"{n:02d}/12/2026", f"FT2634{n:04d}", "", f"{n * 100:,},000", "", f"DP {n} {MEMO_B}"]
        for n in numbers
    ]


def test_vietnamese_csv_with_bom_reads_every_line_exactly(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "saoke.csv",
        [
            VI_HEADER,
            ["05/12/2026", "5213-71234", "", "500,000", "10,500,000", MEMO_A],
            ["6/12/2026", "FT26340ABC", "1,200,000", "", "9,300,000", "Phi dich vu SMS"],
        ],
        bom=True,
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert statement.layout == "generic"
    assert statement.account_number == ACCOUNT
    assert statement.bin_code == VCB
    # each line's content hash, its other possible key (`alternate_id`), set apart
    assert all(len(f.content_id or "") == 24 for f in statement.facts)
    assert tuple(replace(f, content_id=None) for f in statement.facts) == (
        BankTransactionFact(
            source="statement:generic",
            external_id="5213-71234",
            bin_code=VCB,
            account_number=ACCOUNT,
            direction="in",
            amount=500_000,
            value_date="2026-12-05",
            narrative=MEMO_A,
            counterparty=None,
            reference="5213-71234",
            balance=10_500_000,
        ),
        BankTransactionFact(
            source="statement:generic",
            external_id="FT26340ABC",
            bin_code=VCB,
            account_number=ACCOUNT,
            direction="out",
            amount=1_200_000,
            value_date="2026-12-06",
            narrative="Phi dich vu SMS",
            counterparty=None,
            reference="FT26340ABC",
            balance=9_300_000,
        ),
    )


def test_opening_and_closing_balance_come_from_the_balance_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["05/12/2026", "R1", "", "500,000", "10,500,000", MEMO_A],
            ["06/12/2026", "R2", "1,200,000", "", "9,300,000", "Phi"],
        ],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 9_300_000)


def test_opening_balance_adds_back_a_first_debit(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv", [VI_HEADER, ["05/12/2026", "R1", "200,000", "", "800,000", "Rut"]]
    )
    statement = read_statement(path, bin_code=None, account_number=ACCOUNT)
    assert (statement.opening_balance, statement.closing_balance) == (1_000_000, 800_000)
    assert statement.bin_code is None


def test_english_csv_without_reference_or_balance_gets_hash_ids(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Transaction Date", "Debit", "Credit", "Description"],
            ["07/12/2026", "", "1234567", MEMO_B],
        ],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    (fact,) = statement.facts
    basis = f"{ACCOUNT}|2026-12-07|in|1234567||{MEMO_B}|0"
    assert fact.external_id == hashlib.sha256(basis.encode()).hexdigest()[:24]
    assert (fact.reference, fact.direction, fact.amount) == (None, "in", 1_234_567)
    assert (statement.opening_balance, statement.closing_balance) == (None, None)


def test_english_headers_and_dotted_thousands_read_like_vietnamese(tmp_path: Path) -> None:
    vi = write_csv(
        tmp_path / "vi.csv", [VI_HEADER, ["05/12/2026", "R1", "", "500,000", "", MEMO_A]]
    )
    en = write_csv(tmp_path / "en.csv", [EN_HEADER, ["5/12/2026", "R1", "", "500.000", "", MEMO_A]])
    assert read(vi) == read(en)


def test_the_same_file_read_twice_gives_the_same_ids(tmp_path: Path) -> None:
    rows = [["Ngày GD", "Ghi nợ", "Ghi có", "Nội dung"]] + [
        [f"{n:02d}/12/2026", "", "300,000", f"DP {n}"] for n in range(1, 5)
    ]
    path = write_csv(tmp_path / "s.csv", rows)
    first, second = read(path), read(path)
    assert [f.external_id for f in first] == [f.external_id for f in second]
    assert len({f.external_id for f in first}) == 4


@pytest.mark.parametrize("with_reference", [True, False])
def test_an_overlapping_file_gives_the_shared_lines_the_same_ids(
    tmp_path: Path, with_reference: bool
) -> None:
    def file(name: str, numbers: range) -> Path:
        rows = [VI_HEADER, *numbered_rows(numbers)]
        if not with_reference:
            rows = [[c for i, c in enumerate(row) if i != 1] for row in rows]
        return write_csv(tmp_path / name, rows)

    old = {f.value_date: f.external_id for f in read(file("a.csv", range(1, 11)))}
    new = {f.value_date: f.external_id for f in read(file("b.csv", range(3, 13)))}
    shared = sorted(old.keys() & new.keys())
    assert len(shared) == 8
    assert all(old[d] == new[d] for d in shared)
    assert len(set(new.values())) == 10


def test_two_identical_lines_stay_two_with_distinct_ids(tmp_path: Path) -> None:
    line = ["05/12/2026", "", "", "200,000", "", MEMO_B]
    path = write_csv(tmp_path / "s.csv", [VI_HEADER, line, line])
    facts = read(path)
    assert len(facts) == 2
    assert facts[0].external_id != facts[1].external_id
    assert [f.external_id for f in read(path)] == [f.external_id for f in facts]


def test_a_repeated_reference_is_not_used_as_the_id(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["05/12/2026", "DUP", "", "200,000", "", MEMO_A],
            ["05/12/2026", "DUP", "", "300,000", "", MEMO_B],
            ["05/12/2026", "ONLY", "", "100,000", "", MEMO_B],
        ],
    )
    ids = [f.external_id for f in read(path)]
    assert ids[2] == "ONLY"
    assert "DUP" not in ids and len(set(ids)) == 3
    assert [f.reference for f in read(path)] == ["DUP", "DUP", "ONLY"]


def test_a_reversal_printed_with_its_originals_reference_keeps_it_as_key(
    tmp_path: Path,
) -> None:
    """A CLI check: a bank printed a payment and its reversal with one reference; counted
    across directions, neither was keyed by it, so the payment imported again from a file
    holding only it was recorded twice. The key holds the direction."""
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["15/11/2026", "FT26319001", "", "210,000", "", MEMO_A],
            ["23/11/2026", "FT26319001", "210,000", "", "", "GD HOAN TRA"],
        ],
    )
    facts = read(path)
    assert [(f.direction, f.reference_is_key) for f in facts] == [("in", True), ("out", True)]
    alone = write_csv(
        tmp_path / "a.csv", [VI_HEADER, ["15/11/2026", "FT26319001", "", "210,000", "", MEMO_A]]
    )
    assert read(alone)[0].external_id == facts[0].external_id


def test_bad_rows_are_all_listed_with_their_line_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["05/12/2026", "R1", "", "500,000", "", MEMO_A],
            ["31/02/2026", "R2", "", "100,000", "", MEMO_B],
            ["06/12/2026", "R3", "", "12.5", "", MEMO_B],
            ["07/12/2026", "R4", "100,000", "200,000", "", MEMO_B],
            ["08/12/2026", "R5", "", "-100,000", "", MEMO_B],
            ["09/12/2026", "R6", "", "", "", MEMO_B],
            ["10/12/2026", "R7", "", "năm trăm", "", MEMO_B],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        read(path)
    assert [line for line, _, _ in caught.value.problems] == [3, 4, 5, 6, 7, 8]
    messages = " ".join(en for _, _, en in caught.value.problems)
    for part in ("bad date", "12.5", "both a debit and a credit", "negative", "no debit or credit"):
        assert part in messages
    # an amount's problem names its column (a helper could not tell which it was)
    assert "credit column:" in messages
    assert "cột ghi có:" in " ".join(vi for _, vi, _ in caught.value.problems)
    assert "sao kê" in caught.value.message_vi and "statement" in caught.value.message_en


def test_a_row_with_more_values_than_the_header_is_refused_not_cut(tmp_path: Path) -> None:
    # an unquoted comma in the memo: read as it stands, the memo stopped at the comma and
    # the request's code after it was lost (a valid payment went to suspense)
    (tmp_path / "s.csv").write_text(
        ",".join(VI_HEADER)
        + "\n05/12/2026,R1,,70000,,TKThe :19036712345016, tai Techcombank. DPK7Q2M9XM dang phi\n"
        + "06/12/2026,R2,,70000,,IBFT NGUYEN THI B\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as caught:
        read(tmp_path / "s.csv")
    [(number, vi, en)] = caught.value.problems
    assert number == 2 and "7 values" in en and "6 columns" in en and "ngoặc kép" in vi
    # in a spreadsheet, cells right of the table are notes, not values
    xlsx = write_xlsx(
        tmp_path / "s.xlsx",
        [VI_HEADER, ["05/12/2026", "R1", "", 70000, "", MEMO_A, None, "đã kiểm tra"]],
    )
    assert [f.amount for f in read(xlsx)] == [70_000]


def test_notes_and_signatures_below_or_beside_the_table_are_passed_over(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx",
        [
            VI_HEADER,
            ["05/12/2026", "R1", "", 70000, "", MEMO_A],
            ["Tổng cộng phát sinh", None, None, 70000, None, None],
            ["Người lập biểu", None, None, None, None, None, None, "Kế toán trưởng"],
        ],
    )
    assert [f.amount for f in read(path)] == [70_000]


def test_a_line_with_an_amount_but_no_date_is_refused_not_dropped(tmp_path: Path) -> None:
    # its first text begins as a total's label does, folded ("Tống" -> "tong"): it was
    # taken for a totals row and dropped, with its 300,000 (a helper's check)
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Diễn giải", "Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Số dư"],
            [MEMO_A, "05/12/2026", "R1", "", "70,000", ""],
            ["Tống Văn Hùng nộp đảng phí", "", "R2", "", "300,000", ""],
            ["Công ty X chuyển tiền", "", "R3", "", "500,000", ""],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        read(path)
    assert sorted({line for line, _, _ in caught.value.problems}) == [3, 4]


@pytest.mark.parametrize("days", [("05", "06", "07"), ("05", "05", "05")])
def test_a_file_listing_the_newest_first_is_read_oldest_first(
    tmp_path: Path, days: tuple[str, str, str]
) -> None:
    # 1,000,000 + 500,000 - 100,000 + 200,000 as the bank printed it, newest at the top:
    # it gave opening 1,500,000 and closing 1,200,000 (a helper's check)
    d1, d2, d3 = (f"{d}/12/2026" for d in days)
    statement = read_statement(
        write_csv(
            tmp_path / "s.csv",
            [
                VI_HEADER,
                [d3, "R3", "", "200,000", "1,600,000", "C"],
                [d2, "R2", "100,000", "", "1,400,000", "B"],
                [d1, "R1", "", "500,000", "1,500,000", "A"],
            ],
        ),
        bin_code=VCB,
        account_number=ACCOUNT,
    )
    assert [f.reference for f in statement.facts] == ["R1", "R2", "R3"]
    assert (statement.opening_balance, statement.closing_balance) == (1_000_000, 1_600_000)


def test_control_characters_in_a_memo_or_reference_become_spaces(tmp_path: Path) -> None:
    # a NUL, stored, stopped every read model on PostgreSQL (its text cannot hold one)
    path = write_csv(
        tmp_path / "s.csv",
        [VI_HEADER, ["05/12/2026", "FT1\x00", "", "70,000", "", "IBFT\x00NGUYEN\x07VAN A"]],
    )
    [fact] = read(path)
    assert (fact.narrative, fact.reference) == ("IBFT NGUYEN VAN A", "FT1")


def test_an_xlsx_whose_sheet_is_cut_short_is_refused_clearly(tmp_path: Path) -> None:
    import zipfile

    whole = write_xlsx(tmp_path / "whole.xlsx", [VI_HEADER, ["05/12/2026", "R1", "", 1, "", "X"]])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(whole) as src, zipfile.ZipFile(broken, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # the XML ends mid-element
            out.writestr(item, data)
    with pytest.raises(InvalidInput) as refused:
        read(broken)
    assert "Cannot read the Excel file" in refused.value.message_en
    assert "Không đọc được tệp Excel" in refused.value.message_vi
    assert "bị cắt ngắn" in refused.value.message_vi  # said in Vietnamese, not the parser's


def test_csv_line_numbers_are_physical_lines(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["05/12/2026", "R1", "", "500,000", "", "two\nlines"],
            [],
            ["xx/12/2026", "R2", "", "100,000", "", MEMO_B],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        read(path)
    assert [line for line, _, _ in caught.value.problems] == [5]


def test_blank_rows_and_a_totals_row_are_skipped(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [
            VI_HEADER,
            ["05/12/2026", "R1", "", "500,000", "10,500,000", MEMO_A],
            ["", "", "", "", "", ""],
            ["06/12/2026", "R2", "200,000", "", "10,300,000", MEMO_B],
            ["Tổng cộng", "", "200,000", "500,000", "", ""],
        ],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert [f.external_id for f in statement.facts] == ["R1", "R2"]
    assert statement.closing_balance == 10_300_000


def test_missing_required_columns_name_them_in_both_languages(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        [["Ngày giao dịch", "Số tham chiếu", "Ghi có", "Số dư"], ["05/12/2026", "R", "1", "1"]],
    )
    with pytest.raises(InvalidInput) as caught:
        read(path)
    assert not isinstance(caught.value, ImportRejected)
    assert "Ghi nợ" in caught.value.message_vi and "Diễn giải" in caught.value.message_vi
    assert "debit" in caught.value.message_en and "narrative" in caught.value.message_en


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="empty"):
        read(path)


def test_a_csv_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(
        ",".join(EN_HEADER).encode() + "\n05/12/2026,R,,1,,Đóng phí đ\n".encode("cp1258")
    )
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read(path)


def test_other_file_types_and_unknown_layouts_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InvalidInput, match=r"\.xlsx"):
        read(path)
    csv_path = write_csv(tmp_path / "s.csv", [VI_HEADER])
    with pytest.raises(InvalidInput, match="No statement layout 'nosuchbank'"):
        read(csv_path, layout="nosuchbank")


def test_a_semicolon_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    text = ";".join(VI_HEADER) + "\n05/12/2026;R1;;500.000;;" + MEMO_B + "\n"
    path.write_text(text, encoding="utf-8")
    (fact,) = read(path)
    assert (fact.amount, fact.narrative) == (500_000, MEMO_B)


def test_xlsx_with_title_rows_above_the_header(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "saoke.xlsx",
        [
            ["SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT"],
            ["Số tài khoản: 1018795282", None, "Từ ngày 01/12/2026 đến ngày 31/12/2026"],
            VI_HEADER,
            [datetime(2026, 12, 5), "5213-71234", None, 500000, 10500000, MEMO_A],
            ["06/12/2026", "FT26340ABC", "1,200,000", None, "9,300,000", MEMO_B],
            [None, None, None, None, None, None],
            ["Tổng / Total", None, 1200000, 500000, None, None],
        ],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert [(f.external_id, f.direction, f.amount, f.value_date) for f in statement.facts] == [
        ("5213-71234", "in", 500_000, "2026-12-05"),
        ("FT26340ABC", "out", 1_200_000, "2026-12-06"),
    ]
    assert statement.facts[0].narrative == MEMO_A
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 9_300_000)


@pytest.mark.parametrize(
    "title",
    [
        "Số tài khoản: 113000123456",
        "STK 113 000 123456",
        "Account No.: 113000123456",
        # as some banks title it; read as this account's file before (a helper's CLI check)
        "Tài khoản: 113000123456 - VND",
    ],
)
def test_a_file_whose_title_names_another_account_is_refused(tmp_path: Path, title: str) -> None:
    """A CLI check recorded another account's export under this one: its title row named
    the other account, and nothing looked."""
    path = write_xlsx(
        tmp_path / "other.xlsx",
        [
            ["SAO KÊ TÀI KHOẢN"],
            [title],
            VI_HEADER,
            ["05/12/2026", "R1", None, 500000, None, MEMO_B],
        ],
    )
    with pytest.raises(InvalidInput) as refused:
        read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert "113000123456" in refused.value.message_vi
    assert "names account 113000123456, not the account being imported" in (
        refused.value.message_en
    )


@pytest.mark.parametrize(
    ("title", "other"),
    [
        (["Số tài khoản:", "0351000646393"], "0351000646393"),  # the number in the next cell
        (["Số tài khoản: 91018795282"], "91018795282"),  # contains ours, is not ours
    ],
)
def test_another_account_named_across_cells_or_longer_is_refused(
    tmp_path: Path, title: list[str], other: str
) -> None:
    # both were read as this account's file (a helper's check)
    path = write_xlsx(
        tmp_path / "other.xlsx",
        [title, VI_HEADER, ["05/12/2026", "R1", None, 500000, None, MEMO_B]],
    )
    with pytest.raises(InvalidInput) as refused:
        read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert other in refused.value.message_en
    ours = write_xlsx(
        tmp_path / "ours.xlsx",
        [["Số tài khoản:", "001018795282"], VI_HEADER, ["05/12/2026", "R1", None, 1, None, "X"]],
    )
    assert len(read_statement(ours, bin_code=VCB, account_number=ACCOUNT).facts) == 1


@pytest.mark.parametrize(
    "title",
    [
        "Số tài khoản: 1018 795 282 - Chi nhánh Hà Nội",
        "Account number: 1018-795-282",
        "Tài khoản: 1018795282 - VND",
        "Hotline 1900545413",  # no account named: nothing to check
    ],
)
def test_a_title_naming_this_account_or_none_is_read(tmp_path: Path, title: str) -> None:
    path = write_xlsx(
        tmp_path / "ok.xlsx",
        [[title], VI_HEADER, ["05/12/2026", "R1", None, 500000, None, MEMO_B]],
    )
    (fact,) = read_statement(path, bin_code=VCB, account_number=ACCOUNT).facts
    assert fact.amount == 500_000


def test_xlsx_with_english_headers_and_a_vietcombank_layout(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "vcb.xlsx",
        [EN_HEADER, ["07/12/2026", 123456789, None, 150000.0, None, MEMO_B]],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT, layout="vietcombank")
    assert statement.layout == "vietcombank"
    (fact,) = statement.facts
    assert (fact.source, fact.external_id, fact.amount) == (
        "statement:vietcombank",
        "123456789",
        150_000,
    )


def test_xlsx_bad_rows_use_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx",
        [
            ["SAO KÊ"],
            VI_HEADER,
            ["05/12/2026", "R1", None, 12.5, None, MEMO_A],
            [None, None, None, None, None, None],
            ["2026-12-06", "R2", None, 100, None, MEMO_B],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        read(path)
    assert [line for line, _, _ in caught.value.problems] == [3, 5]


def test_a_broken_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(InvalidInput, match="Excel") as refused:
        read(path)
    # the library's English ("File is not a zip file") stays out of the Vietnamese
    assert "zip" not in refused.value.message_vi
    assert "không phải .xlsx" in refused.value.message_vi


def test_a_csv_cell_too_long_is_refused_in_vietnamese_too(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "Ngày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Số dư,Diễn giải\n"
        f'05/12/2026,R1,,"1",,"{"A" * 200_000}"\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as refused:
        read(path)
    assert "field larger than field limit" not in refused.value.message_vi
    assert "một ô dài quá" in refused.value.message_vi
    assert "line 2" in refused.value.message_en


def test_header_labels_compare_without_accents_case_or_spacing() -> None:
    assert fold("  Ngày   GIAO dịch ") == "ngay giao dich"
    assert fold("Số dư (VND)") == "so du"
    layout = LAYOUTS["generic"]
    header = ["NGAY GIAO DICH", "ghi  NO / debit", "Credit", "diễn giải"]
    assert layout.match(header) == {"date": 0, "debit": 1, "credit": 2, "narrative": 3}


def test_a_new_bank_layout_is_only_a_dict_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = {
        "date": ("Ngày hiệu lực GD",),
        "debit": ("Tiền chuyển đi",),
        "credit": ("Tiền nhận về",),
        "narrative": ("Lời nhắn",),
    }
    monkeypatch.setitem(LAYOUTS, "mybank", Layout("mybank", labels))
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["Ngày hiệu lực GD", "Tiền chuyển đi", "Tiền nhận về", "Lời nhắn"],
            ["05/12/2026", "", "1", "x"],
        ],
    )
    statement = read_statement(path, bin_code=VCB, account_number=ACCOUNT)
    assert statement.layout == "mybank"
    assert statement.facts[0].source == "statement:mybank"


@pytest.mark.parametrize(
    "printed",
    [
        "05/12/2026 2:33 PM",
        "05/12/2026 02:33:07 am",
        "05/12/2026 14:33:07.125",
        "5/12/2026 9:05 SA",
    ],
)
def test_a_trailing_time_in_any_clock_is_ignored(tmp_path: Path, printed: str) -> None:
    """docs/statements.md: a trailing time is ignored. A 12-hour time (`2:33 PM`) refused
    the whole file (a helper's check)."""
    path = write_csv(
        tmp_path / "s.csv",
        [VI_HEADER, [printed, "R1", "", "70,000", "70,000", MEMO_A]],
    )
    [fact] = read(path)
    assert fact.value_date[:10] == "2026-12-05"


def test_a_time_that_is_no_time_is_still_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv", [VI_HEADER, ["05/12/2026 PM", "R1", "", "70,000", "", MEMO_A]]
    )
    with pytest.raises(ImportRejected):
        read(path)
