"""A treasurer reconciles B1's bank account from the command line (SQLite and PostgreSQL):
a statement's lines are matched, proposed, held or flagged once; a proposal is applied only
when confirmed; the statement's balance agrees with the ledger's; a remittance by bank
transfer waits in transit at the parent; cash is counted once per receipt and a deposit
slip's code clears the deposit. Bad input exits 2, in Vietnamese and English, writing nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from api.bootstrap import build_ledger
from api.settings import load_settings
from ledger.reference_code import is_valid
from tests.e2e.conftest import as_json, ok, refused

HEADER = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ/Debit", "Ghi có/Credit", "Số dư", "Diễn giải"]
B1_ACCOUNT = "1012345678"
PARENT_ACCOUNT = ("970415", "113000123456")
OPENING = 1_000_000
M1_OWES, M2_OWES, M3_OWES = 72_346, 25_000, 5_000


def write_statement(path: Path, opening: int, lines: list[tuple[str, str, int, str]]) -> Path:
    """(date, reference, signed amount, narrative) rows with a running balance from `opening`,
    as a bank exports them (thousands separators, debit and credit columns)."""
    balance = opening
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for date, reference, amount, narrative in lines:
            balance += amount
            debit, credit = (f"{-amount:,}", "") if amount < 0 else ("", f"{amount:,}")
            writer.writerow([date, reference, debit, credit, f"{balance:,}", narrative])
    return path


def b1_lines(code: str) -> list[tuple[str, str, int, str]]:
    """M1 pays by QR; M2 (Trần Thị Bình) transfers exactly her month without a code; someone
    sends money with no explanation; the bank takes a fee."""
    return [
        (
            "14/12/2026",
            "FT26348000101",
            M1_OWES,
            f"MBVCB.4525077405.{code} DP 12 2026.CT tu 0351000646393 NGUYEN VAN AN toi {B1_ACCOUNT}",
        ),
        ("15/12/2026", "FT26349000102", M2_OWES, "CT DEN:634915372811 TRAN THI BINH nop dang phi"),
        ("15/12/2026", "FT26349000103", 55_000, "IBFT chuyen tien"),
        ("15/12/2026", "FT26349000104", -11_000, "PHI QUAN LY TAI KHOAN T12"),
    ]


B1_CLOSING = OPENING + M1_OWES + M2_OWES + 55_000 - 11_000


def import_statement(db_url: str, path: Path, org: str = "B1") -> dict[str, Any]:
    return dict(as_json(db_url, f"statement import {path} --org {org}"))


def pay_request_code(db_url: str, member: str) -> str:
    return str(as_json(db_url, f"pay-request --member {member}")["reference"])


def outstanding(db_url: str, member: str) -> int:
    return int(as_json(db_url, f"member statement {member}")["outstanding"])


def snapshot(db_url: str) -> tuple[Any, ...]:
    """What a refused command must leave as it was: the event log and what it adds up to."""
    ledger = build_ledger(load_settings(db_url))
    try:
        return (
            ledger.recorder.max_notification_id(),
            ledger.suspense_items("B1", include_resolved=True),
            ledger.balance("B1"),
            ledger.member_statement("M2"),
        )
    finally:
        ledger.close()


@pytest.fixture
def imported(branch: str, tmp_path: Path) -> dict[str, Any]:
    """B1's statement imported once; the counts, with the code M1 paid by."""
    code = pay_request_code(branch, "M1")
    path = write_statement(tmp_path / "b1.csv", OPENING, b1_lines(code))
    return {"code": code, "path": path, **import_statement(branch, path)}


class TestAStatementOfB1:
    def test_each_line_is_matched_proposed_held_or_flagged(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        counts = {k: imported[k] for k in ("new", "already", "matched", "cleared", "proposed")}
        assert counts == {"new": 4, "already": 0, "matched": 1, "cleared": 0, "proposed": 1}
        assert (imported["suspense"], imported["flagged"]) == (1, 1)
        assert (imported["account"], imported["closing_balance"]) == (B1_ACCOUNT, B1_CLOSING)
        assert outstanding(branch, "M1") == 0
        assert as_json(branch, f"request status {imported['code']}")["status"] == "paid"

    def test_importing_it_again_changes_nothing(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        queue = as_json(branch, "suspense list --org B1 --all")
        again = import_statement(branch, imported["path"])
        assert {k: again[k] for k in ("new", "already", "matched", "proposed", "suspense")} == {
            "new": 0,
            "already": 4,
            "matched": 0,
            "proposed": 0,
            "suspense": 0,
        }
        assert again["flagged"] == 0
        assert as_json(branch, "suspense list --org B1 --all") == queue
        assert as_json(branch, "member statement M1")["paid"] == M1_OWES
        assert as_json(branch, "reconcile --org B1")["matched"] == {"request": 1}

    def test_a_line_printed_again_with_another_amount_is_kept_and_said(
        self, branch: str, imported: dict[str, Any], tmp_path: Path
    ) -> None:
        """The same bank reference with another amount: the first record stays, and the
        import says so (it used to count the line as already recorded, silently)."""
        assert imported["differing"] == []
        changed = write_statement(
            tmp_path / "changed.csv", OPENING, [("15/12/2026", "FT26349000103", 56_000, "IBFT")]
        )
        before = as_json(branch, "suspense list --org B1")
        r = import_statement(branch, changed)
        assert (r["new"], r["already"]) == (0, 1)
        assert r["differing"] == [
            {
                "external_id": "FT26349000103",
                "value_date": "2026-12-15",
                "recorded": {"direction": "in", "amount": 55_000},
                "statement": {"direction": "in", "amount": 56_000},
            }
        ]
        assert as_json(branch, "suspense list --org B1") == before
        said = " ".join(ok(branch, f"statement import {changed} --org B1").stdout.split())
        assert "line FT26349000103 (2026-12-15) was recorded as in 55,000 đ, this statement" in said
        assert "đã ghi tiền vào 55,000 đ, sao kê này in tiền vào 56,000 đ" in said

    @pytest.mark.parametrize("columns", ["80", "50"])
    def test_the_list_shows_each_id_whole_on_a_narrow_terminal(
        self, branch: str, imported: dict[str, Any], monkeypatch: pytest.MonkeyPatch, columns: str
    ) -> None:
        """The id is what the treasurer types into `suspense resolve`: a CLI check found it
        cut to `HN-BD-01/20…` at 80 columns."""
        monkeypatch.setenv("COLUMNS", columns)
        ids = [i["id"] for i in as_json(branch, "suspense list --org B1")]
        text = ok(branch, "suspense list --org B1").stdout
        assert ids and all(i in text for i in ids), text
        assert "…" not in text, text
        listed = ok(branch, "reconcile --org B1").stdout
        assert all(i in listed for i in ids), listed

    def test_a_long_organisation_code_lists_each_item_whole_in_blocks(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A 40-character code in every id left an 80-column table no room for the
        narrative (a CLI check found it folded to a few letters a line)."""
        long = "HN-BD-CHIBO-KHUPHO-SO-01-TO-DAN-PHO-SO-3"
        assert len(long) == 40
        orgs = tmp_path / "long.csv"
        orgs.write_text(
            f"code,name,type,parent_code\n{long},Chi bộ tổ dân phố 3,branch,HN-BD\n",
            encoding="utf-8",
        )
        ok(branch, f"org import {orgs}")
        ok(
            branch,
            f"org account add --org {long} --bin 970436 --account-number 1099887766 "
            "--holder-name 'CHI BO TO 3' --holder-kind organisation",
        )
        narrative = "IBFT chuyen tien ung ho quy tinh nghia to dan pho"
        path = tmp_path / "long-statement.csv"
        write_statement(path, 0, [("15/12/2026", "FT26349000701", 55_000, narrative)])
        ok(branch, f"statement import {path} --org {long} --account 1099887766")
        monkeypatch.setenv("COLUMNS", "80")
        [item] = as_json(branch, f"suspense list --org {long}")
        text = ok(branch, f"suspense list --org {long}").stdout
        assert all(len(line) <= 80 for line in text.splitlines()), text
        assert f"{item['id']}  2026-12-15  55,000 đ" in text, text
        assert f"    {narrative}" in text and "…" not in text, text

    def test_at_80_columns_dates_amounts_and_refund_codes_are_whole(
        self, branch: str, imported: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A check found dates folded (`2026-12-1` / `5`) and a refund's code cut in two, so
        the code to put in the refund's memo could not be copied."""
        monkeypatch.setenv("COLUMNS", "80")
        ok(branch, "suspense resolve B1/20261215-2 --refund")
        [item] = [i for i in as_json(branch, "suspense list --org B1 --all") if i["resolution"]]
        code = item["resolution"]["reference"]
        text = ok(branch, "suspense list --org B1 --all").stdout
        table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
        assert table and all(len(line) <= 80 for line in table), text
        assert "2026-12-15" in text and "-11,000 đ" in text and "55,000 đ" in text
        assert f"B1/20261215-2: refund, put {code} in the transfer's memo\n" in text
        ok(branch, "suspense resolve B1/20261215-3 --not-dues 'phí ngân hàng'")
        ok(branch, "suspense confirm B1/20261215-1")
        empty = ok(branch, "suspense list --org B1").stdout  # was a bare, empty table
        assert empty == "B1: không có khoản nào chờ xử lý / B1: nothing in suspense\n"

    def test_money_in_suspense_is_split_between_members(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        item = "B1/20261215-2"  # 55,000 with nothing useful in the memo
        before = snapshot(branch)
        bad = refused(branch, f"suspense resolve {item} --split M2=25,000 --split M3=20,000")
        assert "The shares add up to 45,000 đ; the item is 55,000 đ" in bad.stderr
        refused(branch, f"suspense resolve {item} --split M2")
        assert snapshot(branch) == before
        said = ok(branch, f"suspense resolve {item} --split M2=25,000 --split M3=30,000").stdout
        assert f"Split {item}: M2 25,000 đ, M3 30,000 đ" in " ".join(said.split())
        assert (outstanding(branch, "M2"), outstanding(branch, "M3")) == (0, 0)
        assert as_json(branch, "member statement M3")["credit"] == 30_000 - M3_OWES
        assert item not in [i["id"] for i in as_json(branch, "suspense list --org B1")]

    def test_a_resolution_says_whom_or_why(
        self, branch: str, imported: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A check found replies and lists saying only 'member' or 'not_dues'."""
        monkeypatch.setenv("COLUMNS", "200")  # the list's cells whole on one line each
        said = ok(branch, "suspense resolve B1/20261215-2 --member M2").stdout
        assert "Resolved B1/20261215-2: paid for M2" in " ".join(said.split())
        fee = ok(branch, "suspense resolve B1/20261215-3 --not-dues 'phí ngân hàng'").stdout
        assert "not dues (phí ngân hàng)" in " ".join(fee.split())
        listed = " ".join(ok(branch, "suspense list --org B1 --all").stdout.split())
        assert "paid for M2" in listed and "phí ngân hàng" in listed

    def test_a_line_the_bank_took_back_is_said_so_in_both_languages(
        self, branch: str, imported: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A CLI check found 'reversed / reversed': English in the Vietnamese half."""
        monkeypatch.setenv("COLUMNS", "200")
        back = write_statement(
            tmp_path / "back.csv",
            B1_CLOSING,
            [("16/12/2026", "FT26350000903", -55_000, "HOAN TRA GD FT26349000103")],
        )
        assert import_statement(branch, back)["reversed"] == 1
        listed = " ".join(ok(branch, "suspense list --org B1 --all").stdout.split())
        assert "ngân hàng đã hoàn lại / reversed by the bank" in listed, listed

    def test_reconcile_lists_the_lines_the_bank_took_back_in_both_languages(
        self, branch: str, imported: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only `--json` listed the lines the bank reversed (a reviewer's check)."""
        monkeypatch.setenv("COLUMNS", "200")
        back = write_statement(
            tmp_path / "back.csv",
            B1_CLOSING,
            [("16/12/2026", "FT26350000903", -55_000, "HOAN TRA GD FT26349000103")],
        )
        assert import_statement(branch, back)["reversed"] == 1
        [account] = as_json(branch, "reconcile --org B1")["accounts"]
        assert [t["external_id"] for t in account["reversed"]] == ["FT26349000103"]
        said = ok(branch, "reconcile --org B1").stdout
        vi = "Ngân hàng đã hoàn lại: 2026-12-15 55,000 đ (FT26349000103) IBFT chuyen tien"
        en = "reversed by the bank: 2026-12-15 55,000 đ (FT26349000103) IBFT chuyen tien"
        assert vi in said and en in said, said

    def test_the_proposal_is_listed_and_applied_only_when_confirmed(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        items = as_json(branch, "suspense list --org B1")
        assert [(i["id"], i["direction"], i["amount"]) for i in items] == [
            ("B1/20261215-1", "in", M2_OWES),
            ("B1/20261215-2", "in", 55_000),
            ("B1/20261215-3", "out", 11_000),
        ]
        assert items[0]["proposal"] == {
            "member": "M2",
            "months": ["2026-12"],
            "amount": M2_OWES,
            "by": "name",
        }
        assert "proposal" not in items[1] and "proposal" not in items[2]
        assert outstanding(branch, "M2") == M2_OWES  # proposed, not applied

        confirmed = ok(branch, "suspense confirm B1/20261215-1")
        assert "M2" in confirmed.stdout and "Confirmed B1/20261215-1" in confirmed.stdout
        assert outstanding(branch, "M2") == 0
        assert [i["id"] for i in as_json(branch, "suspense list --org B1")] == [
            "B1/20261215-2",
            "B1/20261215-3",
        ]
        [done] = [
            i for i in as_json(branch, "suspense list --org B1 --all") if i["id"] == "B1/20261215-1"
        ]
        assert done["resolution"]["how"] == "member" and done["resolution"]["member"] == "M2"
        refused(branch, "suspense confirm B1/20261215-1")  # applied once only

    def test_a_proposal_the_member_paid_otherwise_is_not_listed_to_confirm(
        self, branch: str, imported: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """M2 paid her month in cash after the line was proposed for it: `confirm` refuses
        it, so neither `reconcile` nor `suspense list` offers it to confirm any more."""
        monkeypatch.setenv("COLUMNS", "200")
        ok(branch, f"cash receive --member M2 --amount {M2_OWES} --receipt BL-M2")
        report = as_json(branch, "reconcile --org B1")
        assert report["proposed"] == []
        assert [i["id"] for i in report["suspense"]] == ["B1/20261215-1", "B1/20261215-2"]
        said = " ".join(ok(branch, "reconcile --org B1").stdout.split())
        assert "Proposals to confirm" not in said
        assert "đề xuất đã cũ / proposal out of date: M2 2026-12" in said, said
        listed = " ".join(ok(branch, "suspense list --org B1").stdout.split())
        assert "proposed" not in listed
        assert "đề xuất đã cũ / proposal out of date: M2 2026-12" in listed, listed
        assert "out of date" in refused(branch, "suspense confirm B1/20261215-1").stderr

    def test_reconcile_counts_the_matches_and_the_statement_agrees_with_the_ledger(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        before = as_json(branch, "reconcile --org B1")
        assert before["matched"] == {"request": 1}
        assert [i["id"] for i in before["proposed"]] == ["B1/20261215-1"]
        ok(branch, "suspense confirm B1/20261215-1")
        report = as_json(branch, "reconcile --org B1")
        assert report["matched"] == {"request": 1}
        assert report["proposed"] == []
        assert [(i["id"], i["amount"]) for i in report["suspense"]] == [("B1/20261215-2", 55_000)]
        assert [(i["id"], i["amount"]) for i in report["flagged"]] == [("B1/20261215-3", 11_000)]
        [account] = report["accounts"]
        assert account["opening"]["amount"] == OPENING
        assert (account["account"], account["lines"], account["as_of"]) == (
            B1_ACCOUNT,
            4,
            "2026-12-15",
        )
        assert account["statement_closing"] == account["ledger_balance"] == B1_CLOSING
        assert account["difference"] == 0
        assert account["balance_breaks"] == [] and account["not_on_statement"] == []

    def test_a_line_missing_from_the_statement_shows_as_a_break_and_a_difference(
        self, branch: str, tmp_path: Path
    ) -> None:
        path = tmp_path / "gap.csv"
        path.write_text(
            "Ngày giao dịch,Số tham chiếu,Ghi nợ/Debit,Ghi có/Credit,Số dư,Diễn giải\n"
            '14/12/2026,FT26348000201,,"10,000","110,000",IBFT A\n'
            '15/12/2026,FT26349000203,,"20,000","150,000",IBFT C\n',
            encoding="utf-8",
        )
        import_statement(branch, path)
        [account] = as_json(branch, "reconcile --org B1")["accounts"]
        assert account["balance_breaks"] == [
            {
                "external_id": "FT26349000203",
                "value_date": "2026-12-15",
                "expected": 130_000,
                "printed": 150_000,
            }
        ]
        assert (account["statement_closing"], account["ledger_balance"]) == (150_000, 130_000)
        assert account["difference"] == 20_000


class TestMoneyOnItsWay:
    def test_a_morning_export_then_the_whole_day_agree_with_the_ledger(
        self, branch: str, tmp_path: Path
    ) -> None:
        """Two exports ending the same day: the whole day's closing is compared, and the
        morning's is shown beside it (a CLI check found a false difference here)."""
        morning = write_statement(
            tmp_path / "morning.csv", 100_000, [("17/12/2026", "FT1", 10_000, "IBFT A")]
        )
        day = write_statement(
            tmp_path / "day.csv",
            100_000,
            [("17/12/2026", "FT1", 10_000, "IBFT A"), ("17/12/2026", "FT2", 20_000, "IBFT B")],
        )
        import_statement(branch, morning)
        import_statement(branch, day)
        out = ok(branch, "reconcile --org B1").stdout
        assert "Account 1012345678 on 2026-12-17: statement 130,000 đ, ledger 130,000" in out
        assert "agree" in out and "differ by" not in out
        assert "printed a closing balance of 110,000 đ" in " ".join(out.split())

    def test_a_morning_export_then_the_afternoons_lines_agree_with_the_ledger(
        self, branch: str, tmp_path: Path
    ) -> None:
        """Two exports of one day that do not overlap: the morning's has more lines, but the
        afternoon's closing is the day's (a CLI check found a false difference here)."""
        morning = write_statement(
            tmp_path / "morning.csv",
            100_000,
            [("17/12/2026", "FT1", 10_000, "IBFT A"), ("17/12/2026", "FT2", 20_000, "IBFT B")],
        )
        afternoon = write_statement(
            tmp_path / "afternoon.csv", 130_000, [("17/12/2026", "FT3", -5_000, "PHI SMS")]
        )
        import_statement(branch, morning)
        import_statement(branch, afternoon)
        out = ok(branch, "reconcile --org B1").stdout
        assert "Account 1012345678 on 2026-12-17: statement 125,000 đ, ledger 125,000" in out
        assert "agree" in out and "differ by" not in out
        [account] = as_json(branch, "reconcile --org B1")["accounts"]
        assert [s["closing"] for s in account["same_day_closings"]] == [130_000]

    @pytest.mark.parametrize("order", ["morning first", "afternoon first"])
    def test_statements_imported_in_any_order_give_the_same_balance(
        self, branch: str, tmp_path: Path, order: str
    ) -> None:
        """The first statement imported gives the opening balance; one imported later
        with earlier lines moves it back (a check found the afternoon's export, imported
        first, fixed an opening the morning's lines were then added to: a false
        difference of the morning's lines)."""
        morning = write_statement(
            tmp_path / "morning.csv",
            100_000,
            [("16/12/2026", "FT1", 10_000, "IBFT A"), ("17/12/2026", "FT2", 20_000, "IBFT B")],
        )
        afternoon = write_statement(
            tmp_path / "afternoon.csv",
            130_000,
            [("17/12/2026", "FT3", 30_000, "IBFT C"), ("17/12/2026", "FT4", -5_000, "PHI")],
        )
        files = [morning, afternoon] if order == "morning first" else [afternoon, morning]
        for path in files:
            import_statement(branch, path)
        [account] = as_json(branch, "reconcile --org B1")["accounts"]
        assert (account["statement_closing"], account["ledger_balance"]) == (155_000, 155_000)
        assert account["opening"]["amount"] == 100_000 and account["difference"] == 0
        balance = as_json(branch, "balance --org B1")
        assert balance["bank"] == 155_000  # the opening and the four lines, once each

    @pytest.mark.parametrize(
        "order",
        [
            ("afternoon", "whole"),
            ("afternoon", "first", "second"),
            ("second", "whole"),
            ("afternoon", "second", "first"),
            ("first", "second", "afternoon"),
        ],
    )
    def test_same_day_exports_in_any_order_give_the_day_s_balance(
        self, branch: str, tmp_path: Path, order: tuple[str, ...]
    ) -> None:
        """A check found the afternoon's export then the whole day's (and the afternoon's,
        then each morning line's) counted the morning twice over the opening."""
        day = [
            ("17/12/2026", "S1", 70_000, "IBFT A"),
            ("17/12/2026", "S2", 50_000, "IBFT B"),
            ("17/12/2026", "S3", -20_000, "PHI"),
            ("17/12/2026", "S4", 30_000, "IBFT C"),
        ]
        files = {
            "whole": write_statement(tmp_path / "whole.csv", 1_000_000, day),
            "first": write_statement(tmp_path / "first.csv", 1_000_000, day[:1]),
            "second": write_statement(tmp_path / "second.csv", 1_070_000, day[1:2]),
            "afternoon": write_statement(tmp_path / "afternoon.csv", 1_120_000, day[2:]),
        }
        for name in order:
            import_statement(branch, files[name])
        [account] = as_json(branch, "reconcile --org B1")["accounts"]
        assert (account["ledger_balance"], account["difference"]) == (1_130_000, 0)
        assert account["opening"]["amount"] == 1_000_000
        assert as_json(branch, "balance --org B1")["bank"] == 1_130_000

    @pytest.mark.parametrize("via", ["portal", "bank"])
    def test_a_reversal_after_remitting_is_told_as_over_remitted(
        self, branch: str, imported: dict[str, Any], tmp_path: Path, via: str
    ) -> None:
        """M1's transfer is taken back by the bank after B1 closed December and remitted
        the parent's share: `remit` sends nothing and says how much the parent holds, also
        while a transfer by bank is still in transit (a CLI check found it silent then)."""
        if via == "bank":
            ok(
                branch,
                f"org account add --org HN-BD --bin {PARENT_ACCOUNT[0]} --account-number "
                f"{PARENT_ACCOUNT[1]} --holder-name 'DANG UY PHUONG BA DINH' "
                "--holder-kind organisation",
            )
        ok(branch, "month close --period 2026-12 --org B1")
        sent = as_json(branch, f"remit --org B1 --period 2026-12 --via {via}")
        assert sent["amount"] > 0 and sent["over_remitted"] == 0
        back = write_statement(
            tmp_path / "back.csv",
            B1_CLOSING,
            [("16/12/2026", "FT26350000901", -M1_OWES, "HOAN TRA GD FT26348000101")],
        )
        counts = import_statement(branch, back)
        assert (counts["new"], counts["flagged"], counts["suspense"]) == (1, 0, 0), counts
        assert outstanding(branch, "M1") == M1_OWES
        again = as_json(branch, "remit --org B1 --period 2026-12")
        over = sent["amount"] - again["payable"]
        assert 0 < over < M1_OWES  # the parent's share of M1's dues
        assert (again["amount"], again["over_remitted"], again["remitted_before"]) == (
            0,
            over,
            sent["amount"],
        )
        assert again["via"] == via and (again["reference"] is not None) == (via == "bank")
        text = " ".join(ok(branch, "remit --org B1 --period 2026-12").stdout.split())
        assert f"over-remitted by {over:,}" in text and "đã nộp thừa" in text

    def test_a_bank_remittance_waits_in_transit_until_the_parents_line_arrives(
        self, branch: str, imported: dict[str, Any], tmp_path: Path
    ) -> None:
        ok(
            branch,
            f"org account add --org HN-BD --bin {PARENT_ACCOUNT[0]} --account-number "
            f"{PARENT_ACCOUNT[1]} --holder-name 'DANG UY PHUONG BA DINH' --holder-kind organisation",
        )
        ok(branch, "month close --period 2026-12 --org B1")
        figures = as_json(branch, "balance --org B1 --period 2026-12")
        payable = figures["payable_to_parent"] - figures["remitted_to_parent"]
        assert payable > 0

        sent = as_json(branch, "remit --org B1 --period 2026-12 --via bank")
        code = sent["reference"]
        assert is_valid(code)
        assert (sent["parent"], sent["amount"], sent["in_transit"]) == ("HN-BD", payable, payable)
        parent = as_json(branch, "reconcile --org HN-BD")
        assert parent["in_transit"] == [{"child": "B1", "period": "2026-12", "amount": payable}]
        # the code lost before the transfer was made: asked again, the same code, nothing
        # remitted twice (a CLI check found the second answer empty)
        again = as_json(branch, "remit --org B1 --period 2026-12 --via bank")
        assert (again["amount"], again["reference"], again["in_transit"]) == (0, code, payable)
        assert again["payload"] == sent["payload"]
        text = " ".join(ok(branch, "remit --org B1 --period 2026-12 --via bank").stdout.split())
        assert f"with code {code} is still in transit" in text and sent["payload"] in text
        assert as_json(branch, "reconcile --org HN-BD")["in_transit"] == parent["in_transit"]

        arrived = tmp_path / "hnbd.csv"
        memo = f"MBVCB.4525077405.{code} NOP DP 12/2026 B1.CT tu {B1_ACCOUNT} CHI BO 1"
        write_statement(arrived, 0, [("16/12/2026", "FT26350000301", payable, memo)])
        assert import_statement(branch, arrived, "HN-BD")["matched"] == 1
        parent = as_json(branch, "reconcile --org HN-BD")
        assert (parent["in_transit"], parent["matched"]) == ([], {"remittance": 1})
        assert as_json(branch, "balance --org HN-BD --period 2026-12")["in_transit"] == 0
        done = as_json(branch, "remit --org B1 --period 2026-12 --via bank")
        assert (done["amount"], done["reference"], done["in_transit"]) == (0, None, 0)

        left = tmp_path / "b1-out.csv"
        out = [("16/12/2026", "FT26350000302", -payable, f"{code} NOP DP 12/2026 B1")]
        write_statement(left, B1_CLOSING, out)
        counts = import_statement(branch, left)
        assert (counts["new"], counts["flagged"], counts["suspense"]) == (1, 0, 0)
        report = as_json(branch, "reconcile --org B1")
        assert report["matched"] == {"remittance": 1, "request": 1}
        assert [i["id"] for i in report["flagged"]] == [
            "B1/20261215-3"
        ]  # the fee, not the remittance
        [account] = report["accounts"]
        assert account["ledger_balance"] == account["statement_closing"] == B1_CLOSING - payable
        assert account["difference"] == 0

    def test_cash_received_twice_on_one_receipt_counts_once(self, branch: str) -> None:
        first = as_json(branch, f"cash receive --member M3 --amount {M3_OWES} --receipt BL-0001")
        again = as_json(branch, f"cash receive --member M3 --amount {M3_OWES} --receipt BL-0001")
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        assert first["reference"] == again["reference"] == "CASH:B1:BL-0001"
        assert first["applied"] == [["B1", "2026-12", M3_OWES]]
        member = as_json(branch, "member statement M3")
        assert (member["paid"], member["outstanding"], member["credit"]) == (M3_OWES, 0, 0)
        assert as_json(branch, "balance --org B1 --period 2026-12")["collected"] == M3_OWES

        before = snapshot(branch)
        refused(branch, "cash receive --member M3 --amount 9000 --receipt BL-0001")
        assert snapshot(branch) == before

    def test_cash_received_says_where_it_went(self, branch: str) -> None:
        """A CLI check: `cash receive` did not say how much became credit (`pay` does)."""
        said = ok(branch, "cash receive --member M3 --amount 20,000 --receipt BL-0009").stdout
        text = " ".join(said.split())
        assert "Receipt BL-0009: 20,000 đ from M3" in text
        assert "2026-12" in text and f"{M3_OWES:,} đ" in text  # December paid
        assert f"Kept as credit: {20_000 - M3_OWES:,} đ" in text
        again = " ".join(
            ok(branch, "cash receive --member M3 --amount 20,000 --receipt BL-0009").stdout.split()
        )
        assert "(already recorded)" in again and "Kept as credit" not in again

    def test_a_cash_deposit_gets_a_code_that_clears_it_on_the_statement(
        self, branch: str, tmp_path: Path
    ) -> None:
        ok(branch, f"cash receive --member M3 --amount {M3_OWES} --receipt BL-0002")
        slip = as_json(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0001")
        code = slip["reference"]
        assert is_valid(code)
        assert slip == {
            "reference": code,
            "org": "B1",
            "amount": M3_OWES,
            "account": B1_ACCOUNT,
            "seen_on_statement": False,
            "in_transit": M3_OWES,
            "cash_in_books": 0,  # received, then all of it taken to the bank
            "duplicate": False,
        }
        retried = as_json(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0001")
        assert (retried["reference"], retried["duplicate"]) == (code, True)
        said = ok(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0001").stdout
        assert "Deposit slip GNT-0001 was recorded before, nothing recorded again" in " ".join(
            said.split()
        )

        path = tmp_path / "deposit.csv"
        memo = f"NOP TIEN MAT {code} GNT-0001 CHI BO KHU PHO 1"
        write_statement(path, OPENING, [("15/12/2026", "FT26349000401", M3_OWES, memo)])
        counts = import_statement(branch, path)
        assert (counts["cleared"], counts["suspense"]) == (1, 0)
        assert as_json(branch, "reconcile --org B1")["matched"] == {"deposit": 1}
        seen = as_json(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0001")
        assert seen["seen_on_statement"] is True

    def test_a_deposit_line_without_the_slip_code_is_explained_by_the_code(
        self, branch: str, tmp_path: Path
    ) -> None:
        """Cash taken to the bank in two slips' worth of lines, the second without the code:
        it waits in suspense beside the cash still in transit, and `suspense resolve --code`
        says it is the deposit's. Before, nothing could: "not dues" counted the cash twice."""
        ok(branch, f"cash receive --member M2 --amount {M2_OWES} --receipt BL-0003")
        code = as_json(branch, f"cash deposit --org B1 --amount {M2_OWES} --slip GNT-0002")[
            "reference"
        ]
        path = tmp_path / "deposit.csv"
        lines = [
            ("15/12/2026", "FT26349000411", 20_000, f"NOP TIEN MAT {code}"),
            ("15/12/2026", "FT26349000412", M2_OWES - 20_000, "NOP TIEN MAT CHI BO 1"),
        ]
        write_statement(path, OPENING, lines)
        counts = import_statement(branch, path)
        assert (counts["cleared"], counts["suspense"]) == (1, 1)
        [item] = as_json(branch, "suspense list --org B1")
        done = ok(branch, f"suspense resolve {item['id']} --code {code.lower()}").stdout
        assert f"the cash deposit, code {code}" in " ".join(done.split())
        assert "nộp tiền mặt" in done
        report = as_json(branch, "reconcile --org B1")
        assert (report["suspense"], report["flagged"]) == ([], [])
        [account] = report["accounts"]
        assert account["difference"] == 0
        figures = as_json(branch, "balance --org B1")
        assert (figures["suspense"], figures["cash"], figures["bank"]) == (
            0,
            0,
            OPENING + M2_OWES,
        )
        assert as_json(branch, f"request status {code}")["status"] == "paid"

    def test_a_line_printing_a_cancelled_slips_code_is_resolved_as_the_slip_made_again(
        self, branch: str, tmp_path: Path
    ) -> None:
        """The treasurer cancels slip GNT-0001 (wrong amount), makes it again as GNT-0002,
        and the bank teller copies the first slip's code onto the transfer: the line waits
        in suspense (rule 2); `--code` takes it as GNT-0002's cash. Before, nothing could: GNT-0002
        stayed in transit for good while the bank held the money in suspense, and the
        books counted the same cash twice (a helper's cross-view check)."""
        ok(branch, f"cash receive --member M3 --amount {M3_OWES} --receipt BL-0003")
        wrong = as_json(branch, "cash deposit --org B1 --amount 50000 --slip GNT-0001")
        ok(branch, f"request cancel {wrong['reference']} --reason 'ghi sai số tiền'")
        again = as_json(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0002")
        path = tmp_path / "slip.csv"
        memo = f"NOP TIEN MAT {wrong['reference']} CHI BO KHU PHO 1"
        write_statement(path, OPENING, [("15/12/2026", "FT26349000402", M3_OWES, memo)])
        assert import_statement(branch, path)["suspense"] == 1
        [item] = as_json(branch, "suspense list --org B1")

        before = snapshot(branch)
        refused(branch, f"suspense resolve {item['id']} --code {wrong['reference']}")
        refused(branch, f"suspense resolve {item['id']} --code {again['reference']} --refund")
        assert snapshot(branch) == before
        said = ok(branch, f"suspense resolve {item['id']} --code {again['reference']}").stdout
        assert f"the cash deposit, code {again['reference']}" in " ".join(said.split())

        assert as_json(branch, "suspense list --org B1") == []
        redone = as_json(branch, f"cash deposit --org B1 --amount {M3_OWES} --slip GNT-0002")
        assert (redone["in_transit"], redone["seen_on_statement"]) == (0, True)
        figures = as_json(branch, "balance --org B1")
        assert (figures["suspense"], figures["cash"]) == (0, 0)
        assert figures["bank"] == OPENING + M3_OWES
        account = as_json(branch, "reconcile --org B1")["accounts"][0]
        assert account["difference"] == 0
        refused(branch, f"suspense resolve {item['id']} --code {again['reference']}")

    def test_a_line_clearing_a_hand_recorded_payment_is_counted_in_both_languages(
        self, branch: str, tmp_path: Path
    ) -> None:
        # the Vietnamese half said "payment 1" (a helper's CLI check)
        ok(branch, f"pay --member M2 --amount {M2_OWES} --channel bank --reference FT26349000501")
        path = tmp_path / "paid.csv"
        line = ("15/12/2026", "FT26349000501", M2_OWES, "TRAN THI BINH CK")
        write_statement(path, OPENING, [line])
        assert import_statement(branch, path)["cleared"] == 1
        assert as_json(branch, "reconcile --org B1")["matched"] == {"payment": 1}
        said = " ".join(ok(branch, "reconcile --org B1").stdout.split())
        vi, en = said.split("Tài khoản")[0].split(" / ")
        assert (vi, en.strip()) == ("Đã khớp: khoản nộp đã ghi tay 1", "Matched: payment 1")

    def test_a_payment_all_kept_as_credit_prints_no_empty_table(self, branch: str) -> None:
        """A check found an empty "Applied" table for money paid ahead."""
        ok(branch, f"pay --member M3 --amount {M3_OWES} --channel cash --reference PT-1")
        ahead = ok(branch, f"pay --member M3 --amount {M3_OWES} --channel cash --reference PT-2")
        assert "Applied" not in ahead.stdout and "┏" not in ahead.stdout
        assert "Kept as credit: 5,000 đ" in ahead.stdout

    def test_a_members_receipts_show_the_banks_date(self, branch: str, tmp_path: Path) -> None:
        """Paid by QR on the 14th, imported on the 15th (the e2e clock): the receipt says
        the 14th (a check found no CLI command for receipts, and the import's date)."""
        code = pay_request_code(branch, "M1")
        path = write_statement(tmp_path / "b1.csv", OPENING, b1_lines(code))
        import_statement(branch, path)
        ok(branch, "pay --member M1 --amount 1000 --channel cash --reference PT-9")
        [bank, cash] = as_json(branch, "member receipts M1")
        assert (bank["received_on"], bank["channel"], bank["amount"]) == (
            "2026-12-14",
            "bank",
            M1_OWES,
        )
        assert [m["period"] for m in bank["months"]] == ["2026-12"]
        assert (cash["received_on"], cash["to_credit"]) == ("2026-12-15", 1000)
        text = ok(branch, "member receipts M1").stdout
        assert "2026-12-14" in text and "PT-9" in text
        # PT-9 left credit: where it goes next is the statement's to tell
        assert "see `member statement M1`" in text
        assert "member statement" not in ok(branch, "member receipts M3").stdout
        assert (
            ok(branch, "member receipts M2").stdout.strip()
            == "M2: chưa có lần nộp nào / M2: no payments yet"
        )

    def test_depositing_more_cash_than_the_books_hold_is_said(self, branch: str) -> None:
        """A check found a 10,000,000 đ deposit with no cash received accepted silently."""
        ok(branch, "cash receive --member M3 --amount 5000 --receipt BL-0003")
        fine = ok(branch, "cash deposit --org B1 --amount 5000 --slip GNT-0002").stdout
        assert "Warning" not in fine
        said = ok(branch, "cash deposit --org B1 --amount 10000000 --slip GNT-0003").stdout
        said = " ".join(said.split())
        assert "B1's cash in the books is 10,000,000 đ below zero" in said
        assert "tiền mặt trên sổ của B1 âm 10,000,000 đ" in said


class TestBadInputIsRefusedAndWritesNothing:
    def test_a_statement_for_an_organisation_without_an_account(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        """A check found "has 0 accounts; name one with --account", which no --account fixes."""
        before = snapshot(branch)
        result = refused(branch, f"statement import {imported['path']} --org HN-BD")
        said = " ".join(result.stderr.split())
        assert "HN-BD has no registered bank account; add one with `org account add`" in said
        assert snapshot(branch) == before

    def test_resolving_with_an_empty_months_list(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        """`--months ''` was taken as no months at all (the oldest owed)."""
        before = snapshot(branch)
        refused(branch, "suspense resolve B1/20261215-2 --member M2 --months ''")
        refused(branch, "cash receive --member M3 --amount 5000 --receipt BL-9 --months ''")
        assert snapshot(branch) == before

    def test_an_unknown_suspense_item(self, branch: str, imported: dict[str, Any]) -> None:
        before = snapshot(branch)
        result = refused(branch, "suspense confirm B1/20261215-99")
        assert "B1/20261215-99" in result.stderr
        refused(branch, "suspense resolve B1/20261215-99 --member M2")
        assert snapshot(branch) == before

    def test_confirming_an_item_without_a_proposal(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        before = snapshot(branch)
        for item in ("B1/20261215-2", "B1/20261215-3"):  # money in with no proposal; money out
            result = refused(branch, f"suspense confirm {item}")
            assert "no proposal" in result.stderr
        assert snapshot(branch) == before
        assert [i["resolution"] for i in as_json(branch, "suspense list --org B1")] == [None] * 3

    def test_a_statement_naming_another_account_in_its_title(
        self, branch: str, imported: dict[str, Any], tmp_path: Path
    ) -> None:
        path = tmp_path / "parent.csv"
        path.write_text(
            f"SAO KÊ TÀI KHOẢN\nSố tài khoản: {PARENT_ACCOUNT[1]}\n{','.join(HEADER)}\n"
            '16/12/2026,FT26350000301,,"10,000","1,000,000",IBFT A\n',
            encoding="utf-8",
        )
        before = snapshot(branch)
        result = refused(branch, f"statement import {path} --org B1")
        assert f"names account {PARENT_ACCOUNT[1]}, not the account being imported" in (
            " ".join(result.stderr.split())
        )
        assert snapshot(branch) == before

    def test_a_line_dated_after_the_grace_days_refuses_the_whole_file(
        self, branch: str, imported: dict[str, Any], tmp_path: Path
    ) -> None:
        """Today is 15/12/2026 (the e2e clock): a line of 18/12 is accepted (a bank may date a
        weekend's transfer on the next working day); 19/12 is a typo, and refuses the file,
        every such line named by its line number (a check found one line named, by a hash)."""
        typo = write_statement(
            tmp_path / "typo.csv",
            B1_CLOSING,
            [
                ("16/12/2026", "FT26350000401", 10_000, "IBFT A"),
                ("19/12/2026", "FT26350000402", 20_000, "IBFT B"),
                ("20/12/2026", "", 30_000, "IBFT C"),
                ("01/01/1900", "FT26350000404", 1_000, "IBFT D"),
            ],
        )
        before = snapshot(branch)
        result = refused(branch, f"statement import {typo} --org B1")
        said = " ".join(result.stderr.split())
        assert "line 3: dated 2026-12-19, too far in the future (at the latest 2026-12-18)" in said
        assert "line 4: dated 2026-12-20" in said and "file has 3 bad rows" in said
        assert "line 5: dated 1900-01-01, too early (at the earliest 2000-01-01)" in said
        assert "dòng 3: ngày 19/12/2026 quá xa trong tương lai (muộn nhất 18/12/2026)" in said
        assert snapshot(branch) == before
        fine = write_statement(
            tmp_path / "fine.csv", B1_CLOSING, [("18/12/2026", "FT26350000403", 10_000, "IBFT C")]
        )
        assert import_statement(branch, fine)["new"] == 1

    def test_an_unknown_way_to_remit(self, branch: str, imported: dict[str, Any]) -> None:
        ok(branch, "month close --period 2026-12 --org B1")
        before = snapshot(branch)
        result = refused(branch, "remit --org B1 --period 2026-12 --via fax")
        assert "'fax'" in result.stderr and "(portal, bank)" in result.stderr
        assert snapshot(branch) == before
        assert as_json(branch, "reconcile --org HN-BD")["in_transit"] == []

    def test_an_unknown_way_to_remit_even_when_nothing_is_left_to_remit(
        self, branch: str, imported: dict[str, Any]
    ) -> None:
        ok(branch, "month close --period 2026-12 --org B1")
        ok(branch, "remit --org B1 --period 2026-12 --via portal")
        before = snapshot(branch)
        result = refused(branch, "remit --org B1 --period 2026-12 --via fax --json")
        assert "'fax'" in result.stderr
        assert snapshot(branch) == before
