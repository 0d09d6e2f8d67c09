"""The inspectors' endpoints: findings of a subtree, one finding, review notes, the export.

Scenario (on top of the conftest's tree): each branch has a personal account in its
treasurer's name, and a member request of each branch (M0 of HN-BD-01, M3 of HN-BD-02)
asks for money into it with a recorded override, so each branch has one finding of
kind 1 (collecting into a personal account).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from ledger.app import DuesLedger
from ledger.finding_review import FindingReview, review_id
from tests.http.conftest import auth

BIN = "970436"
PERSONAL = {"HN-BD-01": "0011001234567", "HN-BD-02": "0011007654321"}
ROLES = ("member", "treasurer", "auditor", "inspector", "admin")
ROWS = [
    ("GET", "/api/v1/orgs/{code}/findings", "findings of a subtree"),
    ("GET", "/api/v1/orgs/{code}/findings/export", "findings export csv/xlsx"),
    ("GET", "/api/v1/findings/{finding_id}", "one finding"),
    ("POST", "/api/v1/findings/{finding_id}/reviews", "review note"),
]


@pytest.fixture
def with_findings(seeded: DuesLedger) -> DuesLedger:
    for org, member in (("HN-BD-01", "M0"), ("HN-BD-02", "M3")):
        seeded.add_account(org, BIN, PERSONAL[org], "NGUYEN VAN THU QUY", "personal")
        seeded.member_request(member, account=PERSONAL[org], override_reason="Chưa có tài khoản")
    return seeded


@pytest.fixture
def ids(client: TestClient, with_findings: DuesLedger) -> dict[str, str]:
    got = client.get("/api/v1/orgs/HN-BD/findings", headers=auth("inspector", "HN-BD"))
    assert got.status_code == 200, got.text
    by_org = {f["org"]: f["id"] for f in got.json()["items"] if f["kind"] == 1}
    assert set(by_org) == {"HN-BD-01", "HN-BD-02"}
    return {"in": by_org["HN-BD-01"], "out": by_org["HN-BD-02"]}


def caller(role: str) -> dict[str, str]:
    if role == "member":
        return auth("member", "HN-BD-01", member="M0")
    return auth(role, "TW" if role == "admin" else "HN-BD-01")


def test_every_findings_endpoint_answers_every_role_inside_and_outside_its_scope(
    client: TestClient, ids: dict[str, str]
) -> None:
    read = ((403, 403), (200, 404), (200, 404), (200, 404), (200, 200))
    write = ((403, 403), (403, 403), (403, 403), (201, 404), (201, 201))
    table: list[tuple[str, str, str, tuple[tuple[int, int], ...], dict[str, Any]]] = [
        ("GET", "/orgs/HN-BD-01/findings", "/orgs/HN-BD-02/findings", read, {}),
        (
            "GET",
            "/orgs/HN-BD-01/findings/export?format=csv",
            "/orgs/HN-BD-02/findings/export?format=csv",
            read,
            {},
        ),
        ("GET", "/findings/{in}", "/findings/{out}", read, {}),
        ("POST", "/findings/{in}/reviews", "/findings/{out}/reviews", write, {"note": "Đã xem"}),
    ]
    assert len(table) == len(ROWS)
    wrong = []
    for method, inside, outside, expected, body in table:
        for role, (want_in, want_out) in zip(ROLES, expected, strict=True):
            for where, template, want in (
                ("inside", inside, want_in),
                ("outside", outside, want_out),
            ):
                path = "/api/v1" + template.format(**ids)
                got = client.request(
                    method, path, headers=caller(role), json=body if body else None
                )
                if got.status_code != want:
                    wrong.append((path, role, where, want, got.status_code, got.text[:160]))
                elif want >= 400:
                    assert got.headers["content-type"] == "application/problem+json"
    assert wrong == []


def test_an_inspector_sees_the_subtree_and_only_it(client: TestClient, ids: dict[str, str]) -> None:
    branch = client.get("/api/v1/orgs/HN-BD-01/findings", headers=caller("inspector")).json()
    assert [f["id"] for f in branch["items"] if f["kind"] == 1] == [ids["in"]]
    assert all(f["org"] == "HN-BD-01" for f in branch["items"])
    one = client.get(f"/api/v1/findings/{ids['in']}", headers=caller("inspector")).json()
    assert (one["kind"], one["org"], one["period"], one["subject"]) == (
        1,
        "HN-BD-01",
        "2026-12",
        PERSONAL["HN-BD-01"],
    )
    assert one["evidence"]["events"], one
    assert any(PERSONAL["HN-BD-01"] in a for a in one["evidence"]["accounts"]), one
    assert one["explanation_vi"] and one["explanation_en"]
    by_kind = client.get(
        "/api/v1/orgs/HN-BD-01/findings?kind=personal_account", headers=caller("inspector")
    ).json()
    assert [f["id"] for f in by_kind["items"]] == [ids["in"]]


def test_a_finding_outside_the_scope_looks_like_an_unknown_id(
    client: TestClient, ids: dict[str, str]
) -> None:
    outside = client.get(f"/api/v1/findings/{ids['out']}", headers=caller("inspector"))
    unknown_id = "00000000-0000-4000-8000-000000000000"
    unknown = client.get(f"/api/v1/findings/{unknown_id}", headers=caller("inspector"))
    assert outside.status_code == unknown.status_code == 404
    assert outside.json()["detail_en"].replace(ids["out"], "X") == unknown.json()[
        "detail_en"
    ].replace(unknown_id, "X")


def test_a_review_is_an_event_and_a_retry_records_it_once(
    client: TestClient, ids: dict[str, str], with_findings: DuesLedger
) -> None:
    headers = caller("inspector") | {"Idempotency-Key": "review-1"}
    path = f"/api/v1/findings/{ids['in']}/reviews"
    first = client.post(path, headers=headers, json={"note": "Đã yêu cầu chi bộ mở tài khoản"})
    assert first.status_code == 201, first.text
    again = client.post(path, headers=headers, json={"note": "Đã yêu cầu chi bộ mở tài khoản"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(path, headers=headers, json={"note": "khác"})
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"

    shown = client.get(f"/api/v1/findings/{ids['in']}", headers=caller("auditor")).json()
    assert shown["status"] == "reviewed"
    assert [(r["note"], r["reviewer"]) for r in shown["reviews"]] == [
        ("Đã yêu cầu chi bộ mở tài khoản", "inspector:HN-BD-01")
    ]
    stored = with_findings.get_or_none(review_id(ids["in"]), FindingReview)
    assert stored is not None and len(stored.reviews) == 1
    assert shown["reviews"][0]["event"].startswith(str(review_id(ids["in"])))


def test_a_review_without_a_note_is_refused_naming_the_field(
    client: TestClient, ids: dict[str, str]
) -> None:
    for body in ({}, {"note": ""}, {"note": 5}):
        got = client.post(
            f"/api/v1/findings/{ids['in']}/reviews", headers=caller("inspector"), json=body
        )
        assert got.status_code == 422, got.text
        assert got.headers["content-type"] == "application/problem+json"
        assert "note" in got.text


def test_the_export_holds_the_subtrees_findings_as_csv_and_xlsx(
    client: TestClient, ids: dict[str, str]
) -> None:
    inspector = auth("inspector", "HN-BD")
    listed = client.get("/api/v1/orgs/HN-BD/findings?size=200", headers=inspector).json()
    got = client.get("/api/v1/orgs/HN-BD/findings/export?format=csv", headers=inspector)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert 'filename="phat-hien-HN-BD.csv"' in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][0] == "ID" and sorted(r[0] for r in rows[1:]) == sorted(
        f["id"] for f in listed["items"]
    )
    assert {ids["in"], ids["out"]} <= {r[0] for r in rows[1:]}

    got = client.get("/api/v1/orgs/HN-BD/findings/export?format=xlsx", headers=inspector)
    assert got.status_code == 200
    sheet = load_workbook(io.BytesIO(got.content)).active
    assert sheet is not None
    assert sorted(str(r[0]) for r in sheet.iter_rows(min_row=2, values_only=True)) == sorted(
        f["id"] for f in listed["items"]
    )
    bad = client.get("/api/v1/orgs/HN-BD/findings/export?format=pdf", headers=inspector)
    assert bad.status_code == 422 and "format" in bad.text
