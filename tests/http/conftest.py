"""The HTTP API on SQLite and PostgreSQL, clock frozen on 2026-12-15 10:00 (Vietnam time).

The tree is the builders' one: TW > HN > HN-BD > HN-BD-01 (M0, M1, M2), HN-BD-02
(M3, M4); everyone is assessed 70,000 đ a month. Both branches have an account in
the organisation's name. November and December 2026 are open; M0 paid November in
cash, so M0 owes only December; the others owe both months.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import issue_token
from api.settings import load_settings
from ledger.app import DuesLedger
from payment_gateways.gateways.payos import sign
from tests.builders import small_ledger

JWT_KEY = "test-signing-key-0123456789abcdef-0123456789"
DUES = 70_000
B1_ACCOUNT = ("970436", "1012345678")  # Vietcombank, HN-BD-01
B2_ACCOUNT = ("970422", "0351000646393")  # MB, HN-BD-02
GATEWAYS = {
    "DANGPHI_SEPAY_API_KEY": "sepay-key",
    "DANGPHI_CASSO_SECURE_TOKEN": "casso-token",
    "DANGPHI_PAYOS_CHECKSUM_KEY": "payos-key",
}


@pytest.fixture(autouse=True)
def _jwt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGPHI_JWT_KEY", JWT_KEY)
    monkeypatch.delenv("DANGPHI_ENV", raising=False)


@pytest.fixture
def seeded(ledger: DuesLedger) -> DuesLedger:
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", *B1_ACCOUNT, "CHI BO KHU PHO 1", "organisation")
    ledger.add_account("HN-BD-02", *B2_ACCOUNT, "CHI BO KHU PHO 2", "organisation")
    ledger.open_month("2026-11")
    ledger.pay("M0", DUES, channel="cash", reference="PT-0001")
    ledger.open_month("2026-12")
    return ledger


@pytest.fixture
def client(db_url: str, seeded: DuesLedger) -> Iterator[TestClient]:
    app = create_app(load_settings(db_url), gateway_settings=GATEWAYS)
    with TestClient(app) as c:
        yield c


def token(role: str, scope: str, member: str | None = None, *, hours: int = 24) -> str:
    now = datetime.now(UTC)
    return issue_token(
        JWT_KEY,
        role=role,
        scope=scope,
        member=member,
        expires_at=now + timedelta(hours=hours),
        now=now,
    )


def auth(role: str, scope: str = "HN-BD-01", member: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, scope, member)}"}


def narrative(memo: str, account: str = B1_ACCOUNT[1]) -> str:
    return f"MBVCB.4525077405.{memo}.CT tu 0351000646393 NGUYEN VAN A toi {account}"


def sepay(tx: int, memo: str, amount: int, key: str = "sepay-key") -> tuple[bytes, dict[str, str]]:
    body = {
        "id": tx,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-15 14:02:37",
        "accountNumber": B1_ACCOUNT[1],
        "code": None,
        "content": narrative(memo),
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 19_077_000,
        "subAccount": None,
        "referenceCode": f"FT{tx}",
    }
    return json.dumps(body).encode(), {"Authorization": f"Apikey {key}"}


def casso(
    tx: int, memo: str, amount: int, key: str = "casso-token"
) -> tuple[bytes, dict[str, str]]:
    item = {
        "id": tx,
        "tid": f"FT{tx}",
        "description": narrative(memo),
        "amount": amount,
        "cusum_balance": 19_147_000,
        "when": "2026-12-15 09:12:44",
        "bank_sub_acc_id": B1_ACCOUNT[1],
        "corresponsiveName": "NGUYEN VAN A",
        "corresponsiveAccount": "0351000646393",
    }
    return json.dumps({"error": 0, "data": [item]}).encode(), {"secure-token": key}


def payos(tx: int, memo: str, amount: int, key: str = "payos-key") -> tuple[bytes, dict[str, str]]:
    data: dict[str, Any] = {
        "orderCode": tx,
        "amount": amount,
        "description": f"CSRTVOJ4Q9 {memo}",
        "accountNumber": B1_ACCOUNT[1],
        "reference": f"FT{tx}",
        "transactionDateTime": "2026-12-15 10:31:07",
        "currency": "VND",
        "paymentLinkId": f"link{tx}",
        "code": "00",
        "desc": "success",
        "counterAccountName": "NGUYEN VAN A",
    }
    body = {"code": "00", "desc": "success", "data": data, "signature": sign(data, key)}
    return json.dumps(body).encode(), {}


DELIVERIES = {"sepay": sepay, "casso": casso, "payos": payos}
