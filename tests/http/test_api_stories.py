"""Each user's story over HTTP (SQLite and PostgreSQL): a member pays by QR and sees the
month paid after the gateway's webhook; an auditor asks a balance as of a date."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import load_settings
from payment_gateways.vietqr import decode
from tests.http.conftest import B1_ACCOUNT, DELIVERIES, DUES, GATEWAYS, auth


def m0() -> dict[str, str]:
    """M0's own token (made inside the test: the clock is frozen there)."""
    return auth("member", member="M0")


def december(statement: dict[str, object]) -> dict[str, object]:
    months = statement["months"]
    assert isinstance(months, list)
    return next(m for m in months if m["period"] == "2026-12")


class TestAMemberPaysByQR:
    @pytest.mark.parametrize("gateway", sorted(DELIVERIES))
    def test_the_webhook_pays_the_month_the_member_asked_for(
        self, client: TestClient, gateway: str
    ) -> None:
        before = client.get("/api/v1/members/M0/statement", headers=m0()).json()
        assert (before["outstanding"], december(before)["outstanding"]) == (DUES, DUES)

        made = client.post("/api/v1/members/M0/payment-requests", json={}, headers=m0())

        assert made.status_code == 201, made.text
        request = made.json()
        assert (request["amount"], request["items"]) == (
            DUES,
            [{"member": "M0", "months": ["2026-12"], "amount": DUES, "remaining": DUES}],
        )
        assert made.headers["location"].endswith(f"/api/v1/payment-requests/{request['reference']}")
        qr = decode(request["payload"])
        assert (qr.bin, qr.account, qr.amount) == (*B1_ACCOUNT, DUES)
        assert qr.purpose.startswith(request["reference"])
        image = client.get(request["image_png_url"], headers=m0())
        assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
        assert image.content.startswith(b"\x89PNG")
        drawing = client.get(request["image_svg_url"], headers=m0())
        assert drawing.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in drawing.text

        body, headers = DELIVERIES[gateway](
            4_525_077_405, f"{request['reference']} DP 12 2026", DUES
        )
        first = client.post(f"/api/v1/webhooks/{gateway}", content=body, headers=headers)
        again = client.post(f"/api/v1/webhooks/{gateway}", content=body, headers=headers)

        assert first.status_code == 200, first.text
        assert first.json()["success"] is True
        assert [
            (t["amount"], t["recorded"], t["matched"]) for t in first.json()["transactions"]
        ] == [(DUES, True, True)]
        assert [t["recorded"] for t in again.json()["transactions"]] == [False]
        after = client.get("/api/v1/members/M0/statement", headers=m0()).json()
        assert (december(after)["paid"], december(after)["outstanding"]) == (DUES, 0)
        assert (after["outstanding"], after["paid_through"]) == (0, "2026-12")
        status = client.get(f"/api/v1/payment-requests/{request['reference']}", headers=m0()).json()
        assert (status["status"], status["received"]) == ("paid", DUES)
        assert [i["remaining"] for i in status["items"]] == [0]
        receipts = client.get("/api/v1/members/M0/receipts", headers=m0()).json()
        assert receipts["total"] == 2
        assert [
            (r["channel"], r["amount"], [m["period"] for m in r["months"]])
            for r in receipts["items"]
        ] == [
            ("cash", DUES, ["2026-11"]),
            ("bank", DUES, ["2026-12"]),
        ]

    def test_a_webhook_with_a_wrong_secret_is_refused_and_records_nothing(
        self, client: TestClient
    ) -> None:
        made = client.post("/api/v1/members/M0/payment-requests", headers=m0()).json()
        for gateway, deliver in DELIVERIES.items():
            body, headers = deliver(77, f"{made['reference']} DP", DUES, key="wrong-secret")
            refused = client.post(f"/api/v1/webhooks/{gateway}", content=body, headers=headers)
            assert refused.status_code == 401, (gateway, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["success"] is False
        statement = client.get("/api/v1/members/M0/statement", headers=m0()).json()
        assert statement["outstanding"] == DUES

    def test_an_unreadable_notification_is_422_naming_the_field(self, client: TestClient) -> None:
        body, headers = DELIVERIES["sepay"](78, "DP", DUES)
        bad = body.replace(b'"transferAmount": 70000', b'"transferAmount": 70000.5')
        refused = client.post("/api/v1/webhooks/sepay", content=bad, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["field"] == "transferAmount"

    def test_a_bad_bank_name_in_sepays_body_is_422_and_only_a_missing_secret_503(
        self, client: TestClient, db_url: str
    ) -> None:
        """SePay's body names the bank in `gateway`: missing or not text, it was answered
        503 "gateway not configured" (the refusal's field was taken for the secret's)."""
        body, headers = DELIVERIES["sepay"](79, "DP", DUES)
        for bank in (b"5", b"null", b'""'):
            bad = body.replace(b'"gateway": "Vietcombank"', b'"gateway": ' + bank)
            refused = client.post("/api/v1/webhooks/sepay", content=bad, headers=headers)
            assert refused.status_code == 422, (bank, refused.text)
            assert refused.json()["field"] == "gateway" and refused.json()["success"] is False
        unset = {k: v for k, v in GATEWAYS.items() if "SEPAY" not in k}
        with TestClient(create_app(load_settings(db_url), gateway_settings=unset)) as other:
            down = other.post("/api/v1/webhooks/sepay", content=body, headers=headers)
        assert down.status_code == 503 and "DANGPHI_SEPAY_API_KEY" in down.json()["detail_en"]
        statement = client.get("/api/v1/members/M0/statement", headers=m0()).json()
        assert statement["outstanding"] == DUES

    def test_a_casso_batch_with_one_bad_line_records_none_of_them(self, client: TestClient) -> None:
        """All or nothing (a check found the lines before the bad one recorded under a 422)."""
        made = client.post("/api/v1/members/M0/payment-requests", headers=m0()).json()
        body, headers = DELIVERIES["casso"](7006, f"{made['reference']} DP", DUES)
        good = json.loads(body)["data"][0]
        future = good | {"id": 7007, "tid": "FT7007", "when": "2030-01-01 00:00:00"}
        both = json.dumps({"error": 0, "data": [good, future]}).encode()
        refused = client.post("/api/v1/webhooks/casso", content=both, headers=headers)
        assert refused.status_code == 422 and refused.json()["success"] is False
        assert "2030-01-01" in refused.json()["detail_en"]
        statement = client.get("/api/v1/members/M0/statement", headers=m0()).json()
        assert statement["outstanding"] == DUES  # nothing paid
        alone = client.post("/api/v1/webhooks/casso", content=body, headers=headers)
        assert [t["recorded"] for t in alone.json()["transactions"]] == [True]

    def test_the_same_notification_with_another_amount_is_a_conflict(
        self, client: TestClient
    ) -> None:
        """A check found a retry with another amount acknowledged, echoing the new amount."""
        body, headers = DELIVERIES["sepay"](92704, "CHUYEN TIEN", 70_000)
        first = client.post("/api/v1/webhooks/sepay", content=body, headers=headers)
        assert first.json()["transactions"][0]["amount"] == 70_000
        changed = body.replace(b'"transferAmount": 70000', b'"transferAmount": 99000')
        again = client.post("/api/v1/webhooks/sepay", content=changed, headers=headers)
        assert again.status_code == 409 and again.json()["success"] is False
        assert (
            "recorded as in 70,000 đ; this notification says in 99,000 đ"
            in (again.json()["detail_en"])
        )
        same = client.post("/api/v1/webhooks/sepay", content=body, headers=headers)
        assert same.status_code == 200 and same.json()["transactions"][0]["recorded"] is False

    def test_an_unknown_path_is_named_in_both_languages(self, client: TestClient) -> None:
        answer = client.get("/api/v1/no-such-thing", headers=m0())
        assert answer.status_code == 404
        assert answer.json()["title"] == "Không có đường dẫn / Not found"

    def test_months_ahead_are_asked_for_when_named(self, client: TestClient) -> None:
        made = client.post(
            "/api/v1/members/M0/payment-requests", json={"months": ["2027-02"]}, headers=m0()
        )
        assert made.status_code == 201, made.text
        assert made.json()["items"][0]["months"] == ["2026-12", "2027-01", "2027-02"]
        assert made.json()["amount"] == 3 * DUES

    def test_a_month_already_paid_cannot_be_asked_for(self, client: TestClient) -> None:
        refused = client.post(
            "/api/v1/members/M0/payment-requests", json={"months": ["2026-11"]}, headers=m0()
        )
        assert refused.status_code == 409
        assert refused.json()["field"] == "months"


class TestAnAuditorAsksABalance:
    @staticmethod
    def auditor() -> dict[str, str]:
        return auth("auditor", "HN-BD")

    def test_as_of_the_end_of_november_only_november_counts(self, client: TestClient) -> None:
        whole = client.get("/api/v1/orgs/HN-BD/balance", headers=self.auditor()).json()
        november = client.get(
            "/api/v1/orgs/HN-BD/balance", params={"as_of": "2026-11-30"}, headers=self.auditor()
        )

        assert november.status_code == 200, november.text
        b = november.json()
        assert b["periods"] == ["2026-11"]
        assert (b["subtree"]["assessed"], b["subtree_collected"]) == (5 * DUES, DUES)
        assert b["collection"]["members_paid"] == 1
        assert whole["periods"] == ["2026-11", "2026-12"]
        assert whole["subtree"]["assessed"] == 10 * DUES

    def test_one_month_of_one_branch(self, client: TestClient) -> None:
        b = client.get(
            "/api/v1/orgs/HN-BD-01/balance", params={"period": "2026-12"}, headers=self.auditor()
        ).json()
        assert (b["assessed"], b["collected"], b["outstanding"]) == (3 * DUES, 0, 3 * DUES)

    def test_before_any_month_is_404_never_a_zero(self, client: TestClient) -> None:
        r = client.get(
            "/api/v1/orgs/HN-BD/balance", params={"as_of": "2026-10-31"}, headers=self.auditor()
        )
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert "no figures" in r.json()["detail_en"]

    def test_the_members_of_the_committee_page_by_page(self, client: TestClient) -> None:
        first = client.get(
            "/api/v1/orgs/HN-BD/members", params={"size": 3}, headers=self.auditor()
        ).json()
        second = client.get(
            "/api/v1/orgs/HN-BD/members", params={"size": 3, "page": 2}, headers=self.auditor()
        ).json()
        assert first["total"] == second["total"] == 5
        assert [m["code"] for m in first["items"] + second["items"]] == [
            "M0",
            "M1",
            "M2",
            "M3",
            "M4",
        ]
        assert first["items"][0]["branch"] == "HN-BD-01"
