"""Who may see what: every endpoint × every role × inside/outside the caller's scope.

Callers: a member (M0, branch HN-BD-01) and a treasurer, an auditor and an inspector
of HN-BD-01; an admin scoped at the root. "Inside" is M0, HN-BD-01 and M0's
payment request; "outside" is M3, HN-BD-02 and M3's request (the next branch of the
same committee). A role that may not use an endpoint gets 403 whatever the
resource; outside the scope the answer is the 404 of an unknown code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import jwt
from fastapi.testclient import TestClient

from tests.http.conftest import JWT_KEY, auth

ROLES = ("member", "treasurer", "auditor", "inspector", "admin")


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    inside: str
    outside: str
    # role -> (status inside, status outside), in the order of ROLES
    expected: tuple[tuple[int, int], ...]


READ = ((200, 404), (200, 404), (200, 404), (200, 404), (200, 200))
ORG_READ = ((403, 403), (200, 404), (200, 404), (200, 404), (200, 200))
TABLE = [
    Row("member statement", "GET", "/members/M0/statement", "/members/M3/statement", READ),
    Row("member receipts", "GET", "/members/M0/receipts", "/members/M3/receipts", READ),
    Row(
        "create payment request",
        "POST",
        "/members/M0/payment-requests",
        "/members/M3/payment-requests",
        ((201, 404), (201, 404), (403, 403), (403, 403), (201, 201)),
    ),
    Row("payment request", "GET", "/payment-requests/{in}", "/payment-requests/{out}", READ),
    Row("QR png", "GET", "/payment-requests/{in}/qr.png", "/payment-requests/{out}/qr.png", READ),
    Row("QR svg", "GET", "/payment-requests/{in}/qr.svg", "/payment-requests/{out}/qr.svg", READ),
    Row("org balance", "GET", "/orgs/HN-BD-01/balance", "/orgs/HN-BD-02/balance", ORG_READ),
    Row("org members", "GET", "/orgs/HN-BD-01/members", "/orgs/HN-BD-02/members", ORG_READ),
    Row("org findings", "GET", "/orgs/HN-BD-01/findings", "/orgs/HN-BD-02/findings", ORG_READ),
]


# The routes TABLE walks, as the OpenAPI document names them; with the ROWS of the other
# test_api_*.py modules (each walks its own routes) they must be every route there is.
ROWS = [
    ("GET", "/api/v1/members/{code}/statement", "member statement"),
    ("GET", "/api/v1/members/{code}/receipts", "member receipts"),
    ("POST", "/api/v1/members/{code}/payment-requests", "create payment request"),
    ("GET", "/api/v1/payment-requests/{reference}", "payment request"),
    ("GET", "/api/v1/payment-requests/{reference}/qr.png", "QR png"),
    ("GET", "/api/v1/payment-requests/{reference}/qr.svg", "QR svg"),
    ("GET", "/api/v1/orgs/{code}/balance", "org balance"),
    ("GET", "/api/v1/orgs/{code}/members", "org members"),
]
WALKED_ELSEWHERE = (
    "tests.http.test_api_findings",
    "tests.http.test_api_structure",
    "tests.http.test_api_money",
    "tests.http.test_api_audit",
)


def caller(role: str) -> dict[str, str]:
    if role == "member":
        return auth("member", "HN-BD-01", member="M0")
    return auth(role, "TW" if role == "admin" else "HN-BD-01")


def requests_of_m0_and_m3(client: TestClient) -> dict[str, str]:
    admin = caller("admin")
    made = {
        m: client.post(f"/api/v1/members/{m}/payment-requests", headers=admin) for m in ("M0", "M3")
    }
    assert [r.status_code for r in made.values()] == [201, 201]
    return {"in": made["M0"].json()["reference"], "out": made["M3"].json()["reference"]}


def test_every_endpoint_answers_every_role_inside_and_outside_its_scope(
    client: TestClient,
) -> None:
    refs = requests_of_m0_and_m3(client)
    wrong = []
    for row in TABLE:
        for role, (want_in, want_out) in zip(ROLES, row.expected, strict=True):
            for where, template, want in (
                ("inside", row.inside, want_in),
                ("outside", row.outside, want_out),
            ):
                path = "/api/v1" + template.format(**refs)
                got = client.request(row.method, path, headers=caller(role))
                if got.status_code != want:
                    wrong.append((row.endpoint, role, where, want, got.status_code, got.text[:120]))
                elif want >= 400:
                    assert got.headers["content-type"] == "application/problem+json"
    assert wrong == []


def test_every_route_of_the_api_is_walked_by_some_role_by_scope_table(
    client: TestClient,
) -> None:
    """Webhooks carry no bearer token (each gateway authenticates its own way:
    tests/http/test_api_stories.py); every other route is in a walked table."""
    walked = {(m, p) for m, p, _ in ROWS}
    for name in WALKED_ELSEWHERE:
        walked |= {(m, p) for m, p, _ in importlib.import_module(name).ROWS}
    doc = client.get("/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method in ops
        if not path.startswith("/api/v1/webhooks/")
    }
    assert routes - walked == set(), "routes no table walks"
    assert walked - routes == set(), "walked routes the API does not have"


def test_outside_the_scope_looks_exactly_like_a_code_that_does_not_exist(
    client: TestClient,
) -> None:
    treasurer = caller("treasurer")
    for outside, unknown in (
        ("/members/M3/statement", "/members/NOPE/statement"),
        ("/orgs/HN-BD-02/balance", "/orgs/NOPE/balance"),
    ):
        a = client.get("/api/v1" + outside, headers=treasurer)
        b = client.get("/api/v1" + unknown, headers=treasurer)
        assert a.status_code == b.status_code == 404
        strip = {"instance", "detail", "detail_vi", "detail_en"}
        assert {k: v for k, v in a.json().items() if k not in strip} == {
            k: v for k, v in b.json().items() if k not in strip
        }
        assert a.json()["detail_en"].replace("M3", "X").replace("HN-BD-02", "X") == (
            b.json()["detail_en"].replace("NOPE", "X")
        )


def test_without_a_valid_token_every_endpoint_is_401(client: TestClient) -> None:
    refs = {"in": "DPAAAAAAAA", "out": "DPBBBBBBBB"}
    now = int(
        jwt.decode(caller("auditor")["Authorization"][7:], JWT_KEY, algorithms=["HS256"])["iat"]
    )
    expired = jwt.encode(
        {"sub": "a", "role": "auditor", "scope": "HN-BD-01", "iat": now - 7200, "exp": now - 3600},
        JWT_KEY,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": "a", "role": "admin", "scope": "TW", "iat": now, "exp": now + 3600},
        "another-key-of-at-least-thirty-two-bytes!!",
        algorithm="HS256",
    )
    for headers in (
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        for row in TABLE:
            got = client.request(row.method, "/api/v1" + row.inside.format(**refs), headers=headers)
            assert got.status_code == 401, (row.endpoint, headers, got.text)
            assert got.headers["content-type"] == "application/problem+json"
            assert got.headers["www-authenticate"].startswith("Bearer")


def test_a_member_token_without_the_member_code_is_refused(client: TestClient) -> None:
    now = int(
        jwt.decode(caller("auditor")["Authorization"][7:], JWT_KEY, algorithms=["HS256"])["iat"]
    )
    anonymous = jwt.encode(
        {"sub": "m", "role": "member", "scope": "HN-BD-01", "iat": now, "exp": now + 60},
        JWT_KEY,
        algorithm="HS256",
    )
    got = client.get(
        "/api/v1/members/M0/statement", headers={"Authorization": f"Bearer {anonymous}"}
    )
    assert got.status_code == 401
