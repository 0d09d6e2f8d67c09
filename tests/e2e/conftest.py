"""Shared set-up for the command-line tests: a small tree with two branches' accounts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.cli.main import app

runner = CliRunner()
ORGS = """code,name,type,parent_code
TW,Trung ương,central,
HN,Thành ủy Hà Nội,provincial,TW
HN-BD,Đảng ủy phường Ba Đình,grassroots_committee,HN
B1,Chi bộ khu phố 1,branch,HN-BD
B2,Chi bộ khu phố 2,branch,HN-BD
"""
MEMBERS = """code,full_name,branch_code,category,monthly_base,region,party_joined_on
M1,Nguyễn Văn An,B1,social_insured,7234567,I,2005-05-19
M2,Trần Thị Bình,B1,pensioner,5000000,I,1990-03-02
M3,Lê Văn Cường,B1,student,,I,2024-09-01
M4,Phạm Thị Dung,B2,student,,I,2024-01-09
"""


def run(db_url: str, command: str) -> Result:
    return runner.invoke(app, ["--db", db_url, *shlex.split(command)])


def ok(db_url: str, command: str) -> Result:
    result = run(db_url, command)
    assert result.exit_code == 0, result.output
    return result


def refused(db_url: str, command: str) -> Result:
    """Run the command and insist it was refused cleanly: exit 2, a message in both
    languages on stderr, nothing on stdout, no traceback."""
    result = runner.invoke(app, ["--db", db_url, *shlex.split(command)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Lỗi: ") and "\nError: " in result.stderr
    assert result.stdout == ""
    return result


def as_json(db_url: str, command: str) -> Any:
    return json.loads(ok(db_url, f"{command} --json").stdout)


@pytest.fixture
def branch(db_url: str, tmp_path: Path, frozen: object) -> str:
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    ok(db_url, f"org import {tmp_path / 'orgs.csv'}")
    ok(db_url, f"member import {tmp_path / 'members.csv'}")
    ok(
        db_url,
        "org account add --org B1 --bin 970436 --account-number 1012345678 --holder-name 'CHI BO 1' --holder-kind organisation",
    )
    ok(
        db_url,
        "org account add --org B2 --bin 970422 --account-number 0351000646393 --holder-name 'NGUYEN VAN THU QUY' --holder-kind personal",
    )
    ok(db_url, "month open --period 2026-12")
    return db_url
