"""`dangphi token issue` and `dangphi serve`: a token the CLI prints works with the app `serve`
runs; the signing key comes from DANGPHI_JWT_KEY, or for SQLite from a key file beside the
database; production mode without a key refuses to start."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.cli import serve
from api.http import auth
from api.http.app import create_app
from api.settings import load_settings
from ledger.app import DuesLedger
from ledger.errors import InvalidInput
from tests.e2e.conftest import ok, refused, run
from tests.http.conftest import JWT_KEY


def issued(db_url: str, options: str) -> str:
    lines = ok(db_url, f"token issue {options}").stdout.strip().splitlines()
    assert len(lines) == 2 and lines[-1].count(".") == 2, lines
    return lines[-1]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `serve` handed to uvicorn (the server itself is not started)."""
    seen: dict[str, Any] = {}

    def fake_run(app: FastAPI, **options: Any) -> None:
        seen.update(app=app, **options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_a_token_from_the_cli_works_with_the_app_serve_runs(
    db_url: str, seeded: DuesLedger, served: dict[str, Any]
) -> None:
    token = issued(db_url, "--role treasurer --scope HN-BD-01 --expires 12h")
    claims = jwt.decode(token, JWT_KEY, algorithms=["HS256"])
    assert (claims["role"], claims["scope"], claims["exp"] - claims["iat"]) == (
        "treasurer",
        "HN-BD-01",
        12 * 3600,
    )

    ok(db_url, "serve --port 8123")

    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    with TestClient(served["app"]) as client:
        headers = {"Authorization": f"Bearer {token}"}
        mine = client.get("/api/v1/members/M1/statement", headers=headers)
        other = client.get("/api/v1/members/M3/statement", headers=headers)
    assert (mine.status_code, mine.json()["outstanding"]) == (200, 140_000)
    assert other.status_code == 404


def test_a_member_token_names_the_member(db_url: str, seeded: DuesLedger) -> None:
    token = issued(db_url, "--role member --scope HN-BD-01 --member M0 --expires 2027-01-01")
    claims = jwt.decode(token, JWT_KEY, algorithms=["HS256"])
    assert (claims["member"], claims["sub"]) == ("M0", "member:M0")


@pytest.mark.parametrize(
    ("options", "field_words"),
    [
        ("--role root --scope HN-BD-01", "Unknown role 'root'"),
        ("--role auditor --scope NOPE", "No party organisation with code 'NOPE'"),
        ("--role member --scope HN-BD-01", "Role member needs --member CODE"),
        ("--role member --scope HN-BD-01 --member NOPE", "No member with code 'NOPE'"),
        ("--role auditor --scope HN-BD-01 --expires soon", "Invalid expiry 'soon'"),
        ("--role auditor --scope HN-BD-01 --expires 2020-01-01", "is not in the future"),
    ],
)
def test_token_issue_refuses_bad_input(
    db_url: str, seeded: DuesLedger, options: str, field_words: str
) -> None:
    assert field_words in refused(db_url, f"token issue {options}").stderr


def test_sqlite_without_a_configured_key_shares_a_key_file_with_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frozen: object, served: dict[str, Any]
) -> None:
    monkeypatch.delenv("DANGPHI_JWT_KEY")
    db = f"sqlite:///{tmp_path}/dues.sqlite3"
    (tmp_path / "orgs.csv").write_text(
        "code,name,type,parent_code\nTW,Trung ương,central,\n", encoding="utf-8"
    )
    ok(db, f"org import {tmp_path / 'orgs.csv'}")

    token = issued(db, "--role admin --scope TW")

    key_file = tmp_path / "dues.sqlite3.jwt-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    ok(db, "serve")
    with TestClient(served["app"]) as client:
        r = client.get("/api/v1/orgs/TW/members", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["total"]) == (200, 0)


def test_production_without_a_key_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: dict[str, Any]
) -> None:
    monkeypatch.delenv("DANGPHI_JWT_KEY")
    monkeypatch.setenv("DANGPHI_ENV", "production")
    db = f"sqlite:///{tmp_path}/dues.sqlite3"

    result = refused(db, "serve")

    assert "DANGPHI_JWT_KEY" in result.stderr and "production" in result.stderr
    assert served == {}
    assert not (tmp_path / "dues.sqlite3.jwt-key").exists()
    with pytest.raises(InvalidInput) as e:
        create_app(load_settings(db))
    assert e.value.field == "DANGPHI_JWT_KEY"
    assert "Production mode" in e.value.message_en and "production" in e.value.message_vi


def test_a_short_configured_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGPHI_JWT_KEY", "short")
    result = run(f"sqlite:///{tmp_path}/d.sqlite3", "serve")
    assert result.exit_code == 2
    assert "too short" in result.stderr


def test_the_cli_knows_the_same_roles_as_the_api() -> None:
    assert serve.ROLES == auth.ROLES
