"""An auditor's work over HTTP (SQLite and PostgreSQL): verify the hash chain, take a seal
and check it later, catch an event edited behind the application's back, replay the read
models, export an organisation's journal, and ask a balance as it was known before a
later payment. Plus who may do each (role x scope) and idempotent retries.

Callers as in test_api_access: a member (M0) and a treasurer, an auditor and an
inspector of HN-BD-01; an admin at the root TW. The log is one for the whole tree, so
verify and seal answer the same inside and outside; a journal is an organisation's.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.journal import write_journal
from ledger.app import DuesLedger
from tests.e2e.test_cli_read_models import execute
from tests.http.conftest import DELIVERIES, DUES, auth
from tests.integration.test_audit_chain import RawStore

ROWS = [
    ("GET", "/api/v1/audit/verify", "verify the hash chain of the whole log"),
    ("POST", "/api/v1/audit/verify", "verify the log and check seals"),
    ("POST", "/api/v1/audit/seals", "seal the head of the chain"),
    ("GET", "/api/v1/audit/replay", "rebuild the read models and compare"),
    ("GET", "/api/v1/orgs/{code}/journal", "the subtree's postings as an hledger journal"),
]
ROLES = ("member", "treasurer", "auditor", "inspector", "admin")


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI document
    inside: str
    outside: str
    expected: tuple[tuple[int, int], ...]  # per role in ROLES: (inside, outside)


JOURNAL = "/api/v1/orgs/{}/journal?format=ledger"
LOG_READ = ((403, 403), (403, 403), (200, 200), (200, 200), (200, 200))
TABLE = [
    Row("GET", ROWS[0][1], ROWS[0][1], ROWS[0][1], LOG_READ),
    Row("POST", ROWS[1][1], ROWS[1][1], ROWS[1][1], LOG_READ),
    Row(
        "POST",
        ROWS[2][1],
        ROWS[2][1],
        ROWS[2][1],
        ((403, 403), (403, 403), (200, 200), (403, 403), (200, 200)),
    ),
    # An auditor of HN-BD-01 does not cover the whole tree: 403 (see the scope test).
    Row(
        "GET",
        ROWS[3][1],
        ROWS[3][1],
        ROWS[3][1],
        ((403, 403), (403, 403), (403, 403), (403, 403), (200, 200)),
    ),
    Row(
        "GET",
        ROWS[4][1],
        JOURNAL.format("HN-BD-01"),
        JOURNAL.format("HN-BD-02"),
        ((403, 403), (403, 403), (200, 404), (200, 404), (200, 200)),
    ),
]


def caller(role: str, scope: str | None = None) -> dict[str, str]:
    if role == "member":
        return auth("member", "HN-BD-01", member="M0")
    return auth(role, scope or ("TW" if role == "admin" else "HN-BD-01"))


def auditor(scope: str = "HN-BD") -> dict[str, str]:
    return auth("auditor", scope)


@pytest.fixture
def raw(db_url: str, seeded: DuesLedger) -> Any:
    store = RawStore(db_url, seeded)
    yield store
    store.close()


# -- who may do what -------------------------------------------------------------------------
def test_every_audit_endpoint_answers_every_role_inside_and_outside_its_scope(
    client: TestClient,
) -> None:
    wrong = []
    for row in TABLE:
        for role, (want_in, want_out) in zip(ROLES, row.expected, strict=True):
            for where, path, want in (
                ("inside", row.inside, want_in),
                ("out", row.outside, want_out),
            ):
                got = client.request(row.method, path, headers=caller(role))
                if got.status_code != want:
                    wrong.append((row.path, role, where, want, got.status_code, got.text[:120]))
                elif want >= 400:
                    assert got.headers["content-type"] == "application/problem+json"
                    assert got.json()["field"] in (("role", "scope") if want == 403 else ("org",))
    assert wrong == []


def test_the_table_walks_every_route_of_this_module_and_only_those(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["paths"]
    audit_routes = {
        (method.upper(), path)
        for path, methods in spec.items()
        for method, op in methods.items()
        if "audit" in op.get("tags", [])
    }
    assert audit_routes == {(m, p) for m, p, _ in ROWS} == {(r.method, r.path) for r in TABLE}


def test_the_replay_needs_a_scope_covering_the_whole_tree(client: TestClient) -> None:
    for scope, want in (("TW", 200), ("HN", 403), ("HN-BD-01", 403)):
        got = client.get("/api/v1/audit/replay", headers=auditor(scope))
        assert got.status_code == want, (scope, got.text)
        if want == 403:
            assert got.json()["field"] == "scope"
    assert client.get("/api/v1/audit/replay", headers=caller("inspector", "TW")).status_code == 403


def test_the_log_may_be_verified_from_any_scope_since_it_shows_no_amounts(
    client: TestClient,
) -> None:
    for scope in ("TW", "HN-BD-02", "HN-BD-01"):
        assert client.get("/api/v1/audit/verify", headers=auditor(scope)).status_code == 200
    sealed = client.post("/api/v1/audit/seals", headers=auditor("HN-BD-02"))
    assert sealed.status_code == 200, sealed.text


def test_without_a_valid_token_every_audit_endpoint_is_401(client: TestClient) -> None:
    for row in TABLE:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
            got = client.request(row.method, row.inside, headers=headers)
            assert got.status_code == 401, (row.path, got.text)
            assert got.headers["content-type"] == "application/problem+json"


# -- verify and seals ------------------------------------------------------------------------
class TestAnAuditorVerifiesTheLog:
    def test_an_untouched_log_verifies_up_to_the_head_of_the_chain(
        self, client: TestClient, raw: RawStore
    ) -> None:
        got = client.get("/api/v1/audit/verify", headers=auditor())

        assert got.status_code == 200, got.text
        report = got.json()
        count = raw.one("SELECT COUNT(*) FROM {events}")
        head_id, head = raw.q("SELECT notification_id, hash FROM {chain} ORDER BY 1 DESC LIMIT 1")[
            0
        ]
        assert (report["status"], report["sound"], report["problems"]) == ("ok", True, 0)
        assert (report["events"], report["head_id"], report["head_hash"]) == (
            count,
            head_id,
            bytes(head).hex(),
        )
        assert report["first"] is None and report["unchained"] == 0
        assert report["message_en"].startswith(f"OK: {count} events, head hash {bytes(head).hex()}")
        assert report["message_vi"].startswith(f"OK: {count} sự kiện")
        skipped = client.get("/api/v1/audit/verify?snapshots=false", headers=auditor()).json()
        assert skipped["snapshots"] == 0 and skipped["status"] == "ok"

    def test_a_seal_taken_today_still_holds_after_later_writes(
        self, client: TestClient, db_url: str, raw: RawStore
    ) -> None:
        sealed = client.post("/api/v1/audit/seals", headers=auditor())
        assert sealed.status_code == 200, sealed.text
        seal = sealed.json()
        count = raw.one("SELECT COUNT(*) FROM {events}")
        assert seal["format"] == "dangphi-audit-seal/1"
        assert (seal["events"], seal["notification_id"], len(seal["hash"])) == (count, count, 64)
        assert seal["database"] == db_url  # the test URLs have no password to mask
        assert seal["sealed_at"].startswith("2026-12-15T10:00:00")

        made = client.post("/api/v1/members/M1/payment-requests", headers=caller("admin"))
        assert made.status_code == 201

        later = client.post("/api/v1/audit/verify", json={"seals": [seal]}, headers=auditor())
        assert later.status_code == 200, later.text
        assert (later.json()["status"], later.json()["seals"]) == ("ok", ["seals[0]"])
        assert later.json()["events"] > seal["events"]
        assert later.json()["message_en"].endswith("; 1 seal(s) hold")

    def test_a_seal_taken_over_http_is_checked_by_the_command_line_and_back(
        self, client: TestClient, db_url: str, tmp_path: Path
    ) -> None:
        seal = client.post("/api/v1/audit/seals", headers=auditor()).json()
        (tmp_path / "http-seal.json").write_text(json.dumps(seal), encoding="utf-8")
        runner = CliRunner()

        checked = runner.invoke(
            cli, ["--db", db_url, "audit", "verify", "--seal", str(tmp_path / "http-seal.json")]
        )
        by_cli = runner.invoke(cli, ["--db", db_url, "audit", "seal"])
        back = client.post(
            "/api/v1/audit/verify", json={"seals": [json.loads(by_cli.stdout)]}, headers=auditor()
        )

        assert checked.exit_code == 0, checked.output
        assert "1 seal(s) hold" in checked.stdout
        assert (back.json()["status"], back.json()["seals"]) == ("ok", ["seals[0]"])

    def test_an_event_edited_behind_the_applications_back_is_named_and_nothing_sealed(
        self, client: TestClient, raw: RawStore
    ) -> None:
        seal = client.post("/api/v1/audit/seals", headers=auditor()).json()
        nid = raw.event_id("Payment.Received")
        raw.q("UPDATE {events} SET topic = topic || 'X' WHERE {id} = ?", (nid,))

        report = client.get("/api/v1/audit/verify", headers=auditor()).json()
        refused = client.post("/api/v1/audit/seals", headers=auditor())
        with_seal = client.post(
            "/api/v1/audit/verify", json={"seals": [seal]}, headers=auditor()
        ).json()

        assert (report["status"], report["sound"]) == ("tampered", False)
        first = report["first"]
        assert (first["kind"], first["notification_id"]) == ("changed", nid)
        assert first["topic"].endswith("Payment.ReceivedX")
        assert report["message_en"].startswith(f"LOG TAMPERED [changed]: event {nid} ")
        assert report["message_vi"].startswith("SỔ BỊ SỬA NGOÀI ỨNG DỤNG [changed]")
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["field"] == "log"
        assert refused.json()["report"]["first"]["notification_id"] == nid
        assert "LOG TAMPERED" in refused.json()["detail_en"]
        # The chain rows were not touched, so the seal of their head still holds.
        assert (with_seal["status"], with_seal["first"]["kind"]) == ("tampered", "changed")
        assert with_seal["seals"] == ["seals[0]"]

    def test_a_seal_whose_hash_was_altered_does_not_hold(self, client: TestClient) -> None:
        seal = client.post("/api/v1/audit/seals", headers=auditor()).json()
        forged = seal | {"hash": ("0" if seal["hash"][0] != "0" else "1") + seal["hash"][1:]}

        report = client.post(
            "/api/v1/audit/verify", json={"seals": [forged]}, headers=auditor()
        ).json()

        assert report["status"] == "tampered"
        assert (report["first"]["kind"], report["first"]["notification_id"]) == (
            "seal",
            seal["notification_id"],
        )
        assert "seal seals[0]" in report["first"]["en"]
        assert report["seals"] == []

    def test_a_log_without_its_chain_proves_nothing(
        self, client: TestClient, raw: RawStore
    ) -> None:
        count = raw.one("SELECT COUNT(*) FROM {events}")
        raw.q("DELETE FROM {chain}")

        report = client.get("/api/v1/audit/verify", headers=auditor()).json()
        refused = client.post("/api/v1/audit/seals", headers=auditor())

        assert (report["status"], report["unchained"], report["sound"]) == (
            "unchained",
            count,
            False,
        )
        assert "nothing is proven yet" in report["message_en"]
        assert refused.status_code == 409 and refused.json()["report"]["status"] == "unchained"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"format": "something-else/1"}, "seals[0].format"),
            ({"hash": "abc"}, "seals[0].hash"),
            ({"events": -1}, "seals[0].events"),
            ({"signed_by": "me"}, "seals[0].signed_by"),
            ({"sealed_at": "x"}, "seals[0].sealed_at"),  # a helper found it accepted
        ],
    )
    def test_a_seal_that_is_not_a_seal_is_422_naming_the_field(
        self, client: TestClient, change: dict[str, Any], field: str
    ) -> None:
        seal = client.post("/api/v1/audit/seals", headers=auditor()).json()
        got = client.post(
            "/api/v1/audit/verify", json={"seals": [seal | change]}, headers=auditor()
        )
        assert got.status_code == 422
        assert got.headers["content-type"] == "application/problem+json"
        assert got.json()["field"] == field
        assert got.json()["detail_vi"] and got.json()["detail_en"]

    def test_a_body_that_is_not_json_is_422(self, client: TestClient) -> None:
        got = client.post(
            "/api/v1/audit/verify",
            content=b"{not json",
            headers=auditor() | {"Content-Type": "application/json"},
        )
        assert (got.status_code, got.json()["field"]) == (422, "body")


class TestRetries:
    def test_a_seal_asked_again_with_the_same_key_is_the_first_seal(
        self, client: TestClient
    ) -> None:
        key = auditor() | {"Idempotency-Key": "seal-2026-12"}
        first = client.post("/api/v1/audit/seals", headers=key)
        client.post("/api/v1/members/M1/payment-requests", headers=caller("admin"))

        again = client.post("/api/v1/audit/seals", headers=key)
        fresh = client.post("/api/v1/audit/seals", headers=auditor())
        other = client.post("/api/v1/audit/seals", content=b'{"x":1}', headers=key)

        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert fresh.json()["events"] > first.json()["events"]
        assert (other.status_code, other.json()["field"]) == (422, "Idempotency-Key")

    def test_a_verify_with_the_same_key_and_other_seals_is_refused(
        self, client: TestClient
    ) -> None:
        seal = client.post("/api/v1/audit/seals", headers=auditor()).json()
        key = auditor() | {"Idempotency-Key": "verify-1"}
        first = client.post("/api/v1/audit/verify", json={"seals": [seal]}, headers=key)
        again = client.post("/api/v1/audit/verify", json={"seals": [seal]}, headers=key)
        other = client.post("/api/v1/audit/verify", json={"seals": []}, headers=key)

        assert first.status_code == again.status_code == 200
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert (other.status_code, other.json()["field"]) == (422, "Idempotency-Key")


# -- replay ----------------------------------------------------------------------------------
class TestAnAuditorReplaysTheReadModels:
    def test_the_rebuilt_read_models_equal_the_live_ones(
        self, client: TestClient, raw: RawStore
    ) -> None:
        got = client.get("/api/v1/audit/replay", headers=auditor("TW"))

        assert got.status_code == 200, got.text
        report = got.json()
        assert report["ok"] is True
        assert report["differences"] == {"items": [], "page": 1, "size": 50, "total": 0}
        assert report["rows"]["rm_balance"] > 0 and report["rows"]["rm_members"] == 5
        assert report["position"] == raw.one("SELECT MAX({id}) FROM {events}")

    def test_a_read_model_row_changed_behind_its_back_is_a_difference(
        self, client: TestClient, db_url: str
    ) -> None:
        client.get("/api/v1/orgs/HN-BD-01/balance", headers=auditor())  # caught up
        execute(db_url, "UPDATE rm_balance SET collected = collected + 1 WHERE org = 'HN-BD-01'")

        got = client.get("/api/v1/audit/replay?size=1", headers=caller("admin")).json()

        assert got["ok"] is False
        page = got["differences"]
        assert page["total"] >= 1 and len(page["items"]) == 1
        difference = page["items"][0]
        assert difference["table"] == "rm_balance" and "HN-BD-01" in difference["key"]
        assert difference["live"] != difference["replayed"]


# -- journal ---------------------------------------------------------------------------------
class TestAnAuditorExportsTheJournal:
    def test_the_journal_is_the_cli_export_of_the_branch(
        self, client: TestClient, seeded: DuesLedger
    ) -> None:
        got = client.get(JOURNAL.format("HN-BD-01"), headers=auditor())

        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "text/plain; charset=utf-8"
        assert got.headers["content-disposition"] == 'attachment; filename="HN-BD-01.journal"'
        expected = io.StringIO()
        write_journal(seeded, expected, "HN-BD-01")
        assert got.text == expected.getvalue()
        assert "organisation: HN-BD-01" in got.text and "PT-0001" in got.text
        assert "HN-BD-01:" in got.text and "HN-BD-02:" not in got.text

    def test_from_and_to_keep_the_months_asked_for(self, client: TestClient) -> None:
        november = client.get(
            JOURNAL.format("HN-BD-01") + "&from=2026-11&to=2026-11", headers=auditor()
        )
        december = client.get(JOURNAL.format("HN-BD-01") + "&from=2026-12", headers=auditor())

        assert november.status_code == december.status_code == 200
        assert "; tháng / months: 2026-11 .. 2026-11" in november.text
        assert "Roll.Opened HN-BD-01 2026-11" in november.text
        assert "Roll.Opened HN-BD-01 2026-12" not in november.text
        # M0's cash for November was received on 15 December: it belongs to December.
        assert "PT-0001" not in november.text and "PT-0001" in december.text
        assert "Roll.Opened HN-BD-01 2026-11" not in december.text

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("format=csv", "format"),
            ("", "format"),
            ("format=ledger&from=2026-13", "from"),
            ("format=ledger&to=12-2026", "to"),
            ("format=ledger&from=2026-12&to=2026-11", "from"),
        ],
    )
    def test_bad_options_are_422_naming_the_field(
        self, client: TestClient, query: str, field: str
    ) -> None:
        got = client.get(f"/api/v1/orgs/HN-BD-01/journal?{query}", headers=auditor())
        assert got.status_code == 422, got.text
        assert got.headers["content-type"] == "application/problem+json"
        assert got.json()["field"] == field

    def test_an_unknown_organisation_is_404_even_for_an_admin(self, client: TestClient) -> None:
        got = client.get(JOURNAL.format("NOPE"), headers=caller("admin"))
        assert (got.status_code, got.json()["field"]) == (404, "org")


# -- as-of balances --------------------------------------------------------------------------
class TestAnAuditorAsksABalanceBeforeALaterPayment:
    def test_the_balance_as_known_before_a_payment_does_not_move(
        self, client: TestClient, frozen: Any
    ) -> None:
        before = "2026-12-15T10:00:00+07:00"  # the months were opened at this (frozen) time
        then = client.get("/api/v1/orgs/HN-BD/balance", headers=auditor()).json()
        frozen.tick(timedelta(hours=1))
        m1 = auth("member", member="M1")
        request = client.post("/api/v1/members/M1/payment-requests", headers=m1).json()
        body, headers = DELIVERIES["sepay"](9_001, f"{request['reference']} DP", 2 * DUES)
        assert client.post("/api/v1/webhooks/sepay", content=body, headers=headers).json()[
            "transactions"
        ][0]["matched"]

        today = client.get("/api/v1/orgs/HN-BD/balance", headers=auditor()).json()
        known = client.get(
            "/api/v1/orgs/HN-BD/balance", params={"known_at": before}, headers=auditor()
        )
        november = client.get(
            "/api/v1/orgs/HN-BD/balance", params={"as_of": "2026-11-30"}, headers=auditor()
        ).json()

        assert known.status_code == 200, known.text
        assert then["subtree_collected"] == DUES
        assert today["subtree_collected"] == 3 * DUES
        assert known.json()["subtree_collected"] == then["subtree_collected"] == DUES
        assert known.json()["known_at"] is not None
        assert known.json()["subtree"]["assessed"] == today["subtree"]["assessed"] == 10 * DUES
        assert november["periods"] == ["2026-11"]
        assert november["subtree"]["assessed"] == 5 * DUES
        assert november["subtree_collected"] != today["subtree_collected"]
