"""A treasurer imports the branch's bank statement (SQLite and PostgreSQL): each line once,
a line carrying a request's code settles it, anything else waits in suspense."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.cli.main import app
from tests.e2e.conftest import ok

runner = CliRunner()
HEADER = "Ngày giao dịch,Số tham chiếu,Ghi nợ/Debit,Ghi có/Credit,Số dư,Diễn giải\n"


def run(db_url: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db_url, *args])


def imported(db_url: str, path: Path, *extra: str) -> dict[str, Any]:
    result = run(db_url, "statement", "import", str(path), "--org", "B1", "--json", *extra)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def statement(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def request_code(branch: str) -> str:
    status = json.loads(ok(branch, "pay-request --member M1 --json").stdout)
    return str(status["reference"])


def test_importing_a_statement_matches_requests_and_holds_the_rest(
    branch: str,
    request_code: str,
    tmp_path: Path,
) -> None:
    lines = [
        f'15/12/2026,FT001,,"72,346","72,346",MBVCB.4525077405.{request_code} DP 12 2026.CT tu 0351000646393 NGUYEN VAN AN',
        '15/12/2026,FT002,,"55,000","127,346",IBFT NGUYEN THI B chuyen tien',
    ]
    first = imported(branch, statement(tmp_path, "s1.csv", lines))
    assert {k: first[k] for k in ("new", "already", "matched", "suspense")} == {
        "new": 2,
        "already": 0,
        "matched": 1,
        "suspense": 1,
    }
    assert first["closing_balance"] == 127_346
    member = json.loads(ok(branch, "member statement M1 --json").stdout)
    assert member["months"][0]["outstanding"] == 0


def test_the_same_or_an_overlapping_statement_records_each_line_once(
    branch: str,
    tmp_path: Path,
) -> None:
    a = ['14/12/2026,FT010,,"10,000","10,000",IBFT A', '15/12/2026,FT011,,"20,000","30,000",IBFT B']
    imported(branch, statement(tmp_path, "a.csv", a))
    again = imported(branch, statement(tmp_path, "a.csv", a))
    assert (again["new"], again["already"]) == (0, 2)
    overlap = imported(
        branch, statement(tmp_path, "b.csv", [a[1], '16/12/2026,FT012,,"5,000","35,000",IBFT C'])
    )
    assert (overlap["new"], overlap["already"]) == (1, 1)


def test_a_bad_file_is_refused_line_by_line_and_nothing_recorded(
    branch: str,
    tmp_path: Path,
) -> None:
    bad = ['32/12/2026,FT020,,"10,000",,IBFT A', '15/12/2026,FT021,"1,000","2,000",,IBFT B']
    result = run(
        branch, "statement", "import", str(statement(tmp_path, "bad.csv", bad)), "--org", "B1"
    )
    assert result.exit_code == 2 and "Lỗi:" in result.output and "Error:" in result.output
    good = imported(branch, statement(tmp_path, "good.csv", ['15/12/2026,FT020,,"10,000",,IBFT A']))
    assert good["new"] == 1


def test_a_printed_closing_balance_its_lines_do_not_reach_refuses_the_file(
    branch: str,
    tmp_path: Path,
) -> None:
    """The bank printed 40,000 at the end, its lines end at 30,000 (a line missing from the
    export): refused, naming the row, nothing recorded; it was imported as complete."""
    lines = [
        '14/12/2026,FT040,,"10,000","10,000",IBFT A',
        '15/12/2026,FT041,,"20,000","30,000",IBFT B',
    ]
    path = statement(tmp_path, "s.csv", [*lines, 'Số dư cuối kỳ/Closing balance,,,,"40,000",'])
    result = run(branch, "statement", "import", str(path), "--org", "B1")
    assert result.exit_code == 2, result.output
    assert "4" in result.output and "closing balance 40,000 differs from 30,000" in result.output
    assert "số dư cuối kỳ in trên sao kê 40,000" in result.output
    path = statement(tmp_path, "s.csv", [*lines, 'Số dư cuối kỳ/Closing balance,,,,"30,000",'])
    assert imported(branch, path)["new"] == 2


def test_a_statement_for_an_unregistered_account_is_refused(
    branch: str,
    tmp_path: Path,
) -> None:
    path = statement(tmp_path, "s.csv", ['15/12/2026,FT030,,"10,000",,IBFT A'])
    result = run(branch, "statement", "import", str(path), "--org", "B1", "--account", "999")
    assert result.exit_code == 2 and "999" in result.output


@pytest.mark.parametrize(
    "account", [" 1012345678 ", "1012 345 678", "1012.345.678", "1012-345-678"]
)
def test_the_account_may_be_typed_with_spaces_dots_or_dashes(
    branch: str, tmp_path: Path, account: str
) -> None:
    """`--account " 1012345678 "` or "1012 345 678" was refused as unregistered (a
    reviewer's check): the number is read as `org account add` stores it, digits only."""
    path = statement(tmp_path, "s.csv", ['15/12/2026,FT031,,"10,000",,IBFT A'])
    got = imported(branch, path, "--account", account)
    assert (got["account"], got["new"]) == ("1012345678", 1)


def test_an_unregistered_account_is_named_as_read(branch: str, tmp_path: Path) -> None:
    path = statement(tmp_path, "s.csv", ['15/12/2026,FT032,,"10,000",,IBFT A'])
    result = run(branch, "statement", "import", str(path), "--org", "B1", "--account", " 9 99 ")
    assert result.exit_code == 2 and "Account 999 is not a registered" in result.output


class TestTheSuspenseQueue:
    """Money that carried no code waits; the treasurer decides, and every decision is recorded."""

    def queue(self, db_url: str) -> list[dict[str, Any]]:
        result = run(db_url, "suspense", "list", "--org", "B1", "--json")
        assert result.exit_code == 0, result.output
        return list(json.loads(result.stdout))

    def test_a_held_transfer_is_assigned_to_a_member_and_leaves_the_queue(
        self, branch: str, tmp_path: Path
    ) -> None:
        imported(
            branch,
            statement(tmp_path, "s.csv", ['15/12/2026,FT040,,"72,346",,CK DANG PHI NGUYEN VAN AN']),
        )
        [item] = self.queue(branch)
        assert (item["id"], item["amount"]) == ("B1/20261215-1", 72_346)
        assert run(branch, "suspense", "resolve", "B1/20261215-1", "--member", "M1").exit_code == 0
        assert self.queue(branch) == []
        member = json.loads(ok(branch, "member statement M1 --json").stdout)
        assert member["months"][0]["outstanding"] == 0

    def test_refund_and_not_dues_are_recorded_and_a_second_resolution_is_refused(
        self, branch: str, tmp_path: Path
    ) -> None:
        lines = [
            '15/12/2026,FT050,,"10,000",,CHUYEN NHAM',
            '15/12/2026,FT051,,"5,000",,LAI TIEN GUI',
        ]
        imported(branch, statement(tmp_path, "s.csv", lines))
        assert run(branch, "suspense", "resolve", "B1/20261215-1", "--refund").exit_code == 0
        assert (
            run(
                branch, "suspense", "resolve", "B1/20261215-2", "--not-dues", "lãi tiền gửi"
            ).exit_code
            == 0
        )
        again = run(branch, "suspense", "resolve", "B1/20261215-1", "--refund")
        assert again.exit_code == 2 and "already resolved" in again.output
        everything = json.loads(
            run(branch, "suspense", "list", "--org", "B1", "--all", "--json").stdout
        )
        assert [i["resolution"]["how"] for i in everything] == ["refund", "not_dues"]

    def test_a_resolution_must_say_exactly_one_thing(self, branch: str, tmp_path: Path) -> None:
        imported(branch, statement(tmp_path, "s.csv", ['15/12/2026,FT060,,"10,000",,X']))
        assert run(branch, "suspense", "resolve", "B1/20261215-1").exit_code == 2
        assert (
            run(
                branch, "suspense", "resolve", "B1/20261215-1", "--refund", "--not-dues", "x"
            ).exit_code
            == 2
        )
        assert run(branch, "suspense", "resolve", "B1/20261215-9", "--refund").exit_code == 2
