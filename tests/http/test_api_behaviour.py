"""How the API behaves beyond the happy path: idempotent writes, problem+json errors naming
the field, the OpenAPI document (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.idempotency import fingerprint
from api.settings import load_settings
from tests.http.conftest import DUES, GATEWAYS, auth

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "detail_vi", "detail_en", "field"}


def treasurer() -> dict[str, str]:
    return auth("treasurer", "HN-BD-01")


def post_request(client: TestClient, key: str, body: object, member: str = "M1") -> object:
    return client.post(
        f"/api/v1/members/{member}/payment-requests",
        json=body,
        headers={**treasurer(), "Idempotency-Key": key},
    )


class TestIdempotency:
    def test_a_retry_gets_the_first_response_and_creates_nothing(self, client: TestClient) -> None:
        first = post_request(client, "k-1", {"months": ["2026-12"]})
        retry = post_request(client, "k-1", {"months": ["2026-12"]})
        fresh = post_request(client, "k-2", {"months": ["2026-12"]})

        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert retry.headers["location"] == first.headers["location"]
        assert retry.headers["idempotent-replayed"] == "true"
        assert fresh.json()["reference"] != first.json()["reference"]
        # M1 owes November and December: the request asks for both
        assert first.json()["amount"] == 2 * DUES

    def test_the_same_key_with_another_body_is_422(self, client: TestClient) -> None:
        post_request(client, "k-1", {"months": ["2026-12"]})
        other = post_request(client, "k-1", {"months": ["2027-01"]})
        elsewhere = post_request(client, "k-1", {"months": ["2026-12"]}, member="M2")

        for refused in (other, elsewhere):
            assert refused.status_code == 422
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["field"] == "Idempotency-Key"

    def test_a_refusal_is_kept_too(self, client: TestClient) -> None:
        first = post_request(client, "k-9", {"months": ["2026-10"]})
        retry = post_request(client, "k-9", {"months": ["2026-10"]})
        assert first.status_code == retry.status_code == 409
        assert retry.json() == first.json()

    def test_keys_belong_to_the_token_subject(self, client: TestClient) -> None:
        mine = post_request(client, "shared", {})
        theirs = client.post(
            "/api/v1/members/M1/payment-requests",
            json={},
            headers={**auth("admin", "TW"), "Idempotency-Key": "shared"},
        )
        assert theirs.status_code == 201
        assert theirs.json()["reference"] != mine.json()["reference"]

    def test_the_first_response_survives_a_restart(self, client: TestClient, db_url: str) -> None:
        first = post_request(client, "k-restart", {})
        with TestClient(create_app(load_settings(db_url), gateway_settings=GATEWAYS)) as again:
            retry = post_request(again, "k-restart", {})
        assert retry.json() == first.json()

    def test_a_malformed_key_is_refused(self, client: TestClient) -> None:
        refused = post_request(client, "has spaces", {})
        assert (refused.status_code, refused.json()["field"]) == (422, "Idempotency-Key")


class TestProblems:
    def test_401_404_422_are_problem_json_in_both_languages(self, client: TestClient) -> None:
        unauthorised = client.get("/api/v1/members/M0/statement")
        missing = client.get("/api/v1/members/NOPE/statement", headers=auth("admin", "TW"))
        invalid = client.get(
            "/api/v1/orgs/HN-BD-01/balance", params={"period": "2026-13"}, headers=treasurer()
        )
        for r, status, field in (
            (unauthorised, 401, "Authorization"),
            (missing, 404, "member"),
            (invalid, 422, "period"),
        ):
            assert r.status_code == status
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert set(body) >= PROBLEM_KEYS
            assert (body["status"], body["field"]) == (status, field)
            assert body["type"].startswith("urn:dangphi:problem:")
            assert body["instance"] == r.request.url.path
            assert (
                body["detail_vi"] and body["detail_en"] and body["detail_vi"] != body["detail_en"]
            )
        assert missing.json()["detail_en"] == "No member with code 'NOPE'"

    def test_a_bad_body_names_the_field(self, client: TestClient) -> None:
        cases = {
            '{"months": ["2026-13"]}': "months[0]",
            '{"months": "2026-12"}': "months",
            '{"months": []}': "months",
            '{"month": ["2026-12"]}': "month",
            '{"months": [': "body",
            "[1, 2]": "body",
        }
        for body, field in cases.items():
            r = client.post(
                "/api/v1/members/M1/payment-requests",
                content=body,
                headers={**treasurer(), "Content-Type": "application/json"},
            )
            assert r.status_code == 422, (body, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["field"] == field, (body, r.json())
            assert field in r.json()["detail_vi"] and field in r.json()["detail_en"]

    def test_bad_query_values_name_the_field(self, client: TestClient) -> None:
        for params, field in (
            ({"as_of": "30/11/2026"}, "as_of"),
            ({"known_at": "yesterday"}, "known_at"),
            ({"period": "12-2026"}, "period"),
        ):
            r = client.get("/api/v1/orgs/HN-BD-01/balance", params=params, headers=treasurer())
            assert (r.status_code, r.json()["field"]) == (422, field), r.text
        page = client.get("/api/v1/orgs/HN-BD-01/members", params={"size": 0}, headers=treasurer())
        assert (page.status_code, page.json()["field"]) == (422, "size")

    def test_findings_are_a_page_read_from_the_findings_model(self, client: TestClient) -> None:
        # The kinds themselves are tested in tests/integration/test_findings.py.
        r = client.get("/api/v1/orgs/HN-BD/findings", headers=auth("inspector", "HN-BD"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["page"], body["total"]) == (1, len(body["items"]))
        one = client.get(
            "/api/v1/orgs/HN-BD/findings",
            params={"kind": "nope"},
            headers=auth("inspector", "HN-BD"),
        )
        assert one.status_code == 422

    def test_a_body_that_is_not_utf8_json_is_422_naming_the_body(self, client: TestClient) -> None:
        r = client.post(
            "/api/v1/members/M1/payment-requests",
            content=b"\xff\xfe{",
            headers={**treasurer(), "Content-Type": "application/json"},
        )
        assert (r.status_code, r.headers["content-type"]) == (422, "application/problem+json")
        assert r.json()["field"] == "body" and r.json()["detail_vi"] != r.json()["detail_en"]

    def test_an_unknown_path_is_problem_json(self, client: TestClient) -> None:
        r = client.get("/api/v1/nothing-here")
        assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")


def test_the_openapi_document_lists_every_endpoint(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) >= {
        "/api/v1/members/{code}/statement",
        "/api/v1/members/{code}/payment-requests",
        "/api/v1/members/{code}/receipts",
        "/api/v1/payment-requests/{reference}",
        "/api/v1/payment-requests/{reference}/qr.png",
        "/api/v1/payment-requests/{reference}/qr.svg",
        "/api/v1/orgs/{code}/balance",
        "/api/v1/orgs/{code}/members",
        "/api/v1/orgs/{code}/findings",
        "/api/v1/orgs/{code}/findings/export",
        "/api/v1/findings/{finding_id}",
        "/api/v1/findings/{finding_id}/reviews",
        "/api/v1/webhooks/{gateway}",
    }
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200


def test_a_retry_while_the_first_is_still_running_is_409(client: TestClient) -> None:
    store = client.app.state.services.idempotency  # type: ignore[attr-defined]
    path = "/api/v1/members/M1/payment-requests"
    store.reserve("treasurer:HN-BD-01", "k-busy", fingerprint("POST", path, b"{}"))

    busy = post_request(client, "k-busy", {})

    assert (busy.status_code, busy.json()["field"]) == (409, "Idempotency-Key")


def test_a_write_that_lost_a_race_in_storage_is_409_not_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PostgreSQL recorder's taken (id, version) surfaces as the library's
    IntegrityError: a PersistenceError and a RecordConflictError at once. A check over
    HTTP saw it answered 503 "database unavailable"; it is a conflict, and retryable."""
    from eventsourcing.persistence import IntegrityError

    from ledger.app import DuesLedger
    from tests.http.conftest import sepay

    def lost(*_: object, **__: object) -> None:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(DuesLedger, "record_bank_transactions", lost)
    body, headers = sepay(9901, "IBFT CHUYEN TIEN", 5_000)
    answer = client.post("/api/v1/webhooks/sepay", content=body, headers=headers)
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("concurrent-write")
    assert answer.json()["success"] is False  # SePay reads it, as on every refusal
