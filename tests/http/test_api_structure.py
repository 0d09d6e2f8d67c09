"""A treasurer's structure over HTTP (SQLite and PostgreSQL): the tree, importing and registering
members, transfers, exemptions, opening and closing months, pay-on-behalf batches.

Callers are those of test_api_access: a member (M0), a treasurer, an auditor and an
inspector of HN-BD-01, an admin of the root. "Inside" is HN-BD-01 (M0, M1, M2),
"outside" HN-BD-02 (M3, M4).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import DUES, auth

ROLES = ("member", "treasurer", "auditor", "inspector", "admin")
ROWS = [
    ("GET", "/api/v1/orgs/{code}/tree", "the organisation tree in a month"),
    ("POST", "/api/v1/orgs/{code}/members/import", "import members from CSV"),
    ("POST", "/api/v1/orgs/{code}/members", "register one member"),
    ("POST", "/api/v1/members/{code}/transfer", "official transfer to another branch"),
    ("POST", "/api/v1/members/{code}/exemptions", "grant an exemption or reduction"),
    ("POST", "/api/v1/orgs/{code}/batches", "pay-on-behalf batch request"),
    ("POST", "/api/v1/orgs/{code}/months/{period}/open", "open a month for the subtree"),
    ("POST", "/api/v1/orgs/{code}/months/{period}/close", "close a month for the subtree"),
]
HEADER = "code,full_name,branch_code,category,monthly_base,region,party_joined_on,national_id"
CSV = {"Content-Type": "text/csv"}


def caller(role: str) -> dict[str, str]:
    if role == "member":
        return auth("member", "HN-BD-01", member="M0")
    return auth(role, "TW" if role == "admin" else "HN-BD-01")


def csv_of(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def csv_line(
    code: str, branch: str, category: str = "social_insured", base: str = "7000000"
) -> str:
    return f"{code},Nguyễn Văn {code},{branch},{category},{base},I,2005-05-19,"


def member_body(code: str, **changes: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "full_name": f"Trần Thị {code}",
        "category": "social_insured",
        "monthly_base": 7_000_000,
        "region": "I",
        "party_joined_on": "2010-03-02",
    }
    return body | changes


def exemption(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "hardship",
        "percent": 50,
        "decision": "QD-12/2026",
        "from_period": "2027-01",
        "to_period": "2027-03",
    }
    return body | changes


# -- role x scope ------------------------------------------------------------------------------
def request_for(template: str, role: str, inside: bool) -> tuple[str, dict[str, Any]]:
    """The concrete call of a row: distinct codes and months per caller, so every call
    that is allowed succeeds (the refused ones must change nothing)."""
    org = "HN-BD-01" if inside else "HN-BD-02"
    tag = f"{role[:2].upper()}{'I' if inside else 'O'}"
    admin_in = role == "admin" and inside
    match template.removeprefix("/api/v1"):
        case "/orgs/{code}/tree":
            return f"/api/v1/orgs/{org}/tree", {}
        case "/orgs/{code}/members/import":
            upload = csv_of(csv_line(f"N-{tag}", org))
            return f"/api/v1/orgs/{org}/members/import", {"content": upload, "headers": CSV}
        case "/orgs/{code}/members":
            return f"/api/v1/orgs/{org}/members", {"json": member_body(f"R-{tag}")}
        case "/members/{code}/transfer":
            member, to = ("M1", "HN-BD-02") if inside else ("M3", "HN-BD-01")
            move = {"to_branch": to, "from_period": "2027-01"}
            return f"/api/v1/members/{member}/transfer", {"json": move}
        case "/members/{code}/exemptions":
            member = "M2" if admin_in else "M0" if inside else "M4"
            return f"/api/v1/members/{member}/exemptions", {"json": exemption()}
        case "/orgs/{code}/batches":
            members = ["M1", "M2"] if admin_in else ["M0"] if inside else ["M3", "M4"]
            body = {"payer": "Công ty TNHH A", "members": members, "period": "2026-12"}
            return f"/api/v1/orgs/{org}/batches", {"json": body}
        case "/orgs/{code}/months/{period}/open":
            return f"/api/v1/orgs/{org}/months/{'2027-02' if admin_in else '2027-01'}/open", {}
        case "/orgs/{code}/months/{period}/close":
            return f"/api/v1/orgs/{org}/months/{'2026-12' if admin_in else '2026-11'}/close", {}
    raise AssertionError(f"no call for {template}")


def write(ok: int) -> tuple[tuple[int, int], ...]:
    return ((403, 403), (ok, 404), (403, 403), (403, 403), (ok, ok))


EXPECTED = {
    "/api/v1/orgs/{code}/tree": ((403, 403), (200, 404), (200, 404), (200, 404), (200, 200)),
    "/api/v1/orgs/{code}/members/import": write(200),
    "/api/v1/orgs/{code}/members": write(201),
    # HN-BD-01 is a branch: its treasurer has no other branch to move M1 to (the target
    # HN-BD-02 is outside: 404); a committee's treasurer does (see TestTransfer).
    "/api/v1/members/{code}/transfer": ((403, 403), (404, 404), (403, 403), (403, 403), (200, 200)),
    "/api/v1/members/{code}/exemptions": write(201),
    "/api/v1/orgs/{code}/batches": write(201),
    "/api/v1/orgs/{code}/months/{period}/open": write(200),
    "/api/v1/orgs/{code}/months/{period}/close": write(200),
}


def test_every_structure_endpoint_answers_every_role_inside_and_outside_its_scope(
    client: TestClient,
) -> None:
    wrong = []
    for method, template, what in ROWS:
        for role, wants in zip(ROLES, EXPECTED[template], strict=True):
            for inside, want in zip((True, False), wants, strict=True):
                path, kwargs = request_for(template, role, inside)
                headers = caller(role) | kwargs.pop("headers", {})
                got = client.request(method, path, headers=headers, **kwargs)
                if got.status_code != want:
                    wrong.append((what, role, inside, want, got.status_code, got.text[:160]))
                elif want >= 400:
                    assert got.headers["content-type"] == "application/problem+json"
    assert wrong == []
    # only the allowed calls had an effect: the members imported and registered
    everyone = client.get("/api/v1/orgs/TW/members?size=200", headers=caller("admin")).json()
    new = sorted(m["code"] for m in everyone["items"] if m["code"][0] in "NR")
    assert new == ["N-ADI", "N-ADO", "N-TRI", "R-ADI", "R-ADO", "R-TRI"]


def test_every_route_of_the_app_under_these_paths_is_walked(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["paths"]
    for method, template, _ in ROWS:
        assert method.lower() in spec[template], template
    mine = {
        (m.upper(), p)
        for p, ops in spec.items()
        for m in ops
        if p.endswith(("/tree", "/members/import", "/transfer", "/exemptions", "/batches"))
        or "/months/" in p
        or (p == "/api/v1/orgs/{code}/members" and m == "post")
    }
    assert mine == {(m, p) for m, p, _ in ROWS}


def test_without_a_token_every_structure_endpoint_is_401(client: TestClient) -> None:
    for method, template, _ in ROWS:
        path, kwargs = request_for(template, "admin", True)
        kwargs.pop("headers", None)
        got = client.request(method, path, **kwargs)
        assert got.status_code == 401, (template, got.text)
        assert got.headers["www-authenticate"].startswith("Bearer")


# -- the tree -----------------------------------------------------------------------------------
class TestTree:
    def test_an_auditor_sees_the_committee_with_its_branches_and_their_accounts(
        self, client: TestClient
    ) -> None:
        got = client.get("/api/v1/orgs/HN-BD/tree", headers=auth("auditor", "HN"))

        assert got.status_code == 200, got.text
        tree = got.json()
        assert (tree["period"], tree["organisations"]) == ("2026-12", 3)
        root = tree["root"]
        assert (root["code"], root["type"], root["parent"]) == (
            "HN-BD",
            "grassroots_committee",
            "HN",
        )
        assert [
            (c["code"], c["parent"], c["account_holder_kinds"], c["non_organisation_account"])
            for c in root["children"]
        ] == [
            ("HN-BD-01", "HN-BD", ["organisation"], False),
            ("HN-BD-02", "HN-BD", ["organisation"], False),
        ]

    def test_a_month_before_the_tree_existed_is_404_naming_the_period(
        self, client: TestClient
    ) -> None:
        got = client.get("/api/v1/orgs/HN-BD/tree?period=1800-01", headers=auth("admin", "TW"))
        assert (got.status_code, got.json()["field"]) == (404, "period")
        bad = client.get("/api/v1/orgs/HN-BD/tree?period=2026-13", headers=auth("admin", "TW"))
        assert (bad.status_code, bad.json()["field"]) == (422, "period")


# -- importing and registering members --------------------------------------------------------------
def codes_in(client: TestClient, org: str) -> list[str]:
    page = client.get(f"/api/v1/orgs/{org}/members", headers=auth("admin", "TW")).json()
    return [m["code"] for m in page["items"]]


class TestImport:
    def test_a_treasurer_uploads_a_file_and_the_branch_lists_the_new_members(
        self, client: TestClient
    ) -> None:
        body = csv_of(
            csv_line("M7", "HN-BD-01"),
            "M8,Trần Thị Bình,HN-BD-01,student,,I,02/03/2010,001085012345",
        )
        files = {"file": ("members.csv", body, "text/csv")}
        treasurer = auth("treasurer", "HN-BD-01")

        got = client.post("/api/v1/orgs/HN-BD-01/members/import", files=files, headers=treasurer)
        again = client.post(
            "/api/v1/orgs/HN-BD-01/members/import", content=body, headers=treasurer | CSV
        )

        assert got.status_code == 200, got.text
        # both joined in 2010: they owe the two months the branch has already opened
        late = [
            {"code": code, "period": period, "amount": amount}
            for period in ("2026-11", "2026-12")
            for code, amount in (("M7", DUES), ("M8", 5_000))
        ]
        got_late = sorted(got.json().pop("assessed_late"), key=lambda m: m["period"])
        assert got_late == late
        assert got.json() == {"rows": 2, "created": 2, "unchanged": 0, "assessed_late": got_late}
        assert again.json() == {"rows": 2, "created": 0, "unchanged": 2, "assessed_late": []}
        assert codes_in(client, "HN-BD-01") == ["M0", "M1", "M2", "M7", "M8"]

    def test_a_file_with_bad_lines_imports_nothing_and_names_every_line(
        self, client: TestClient
    ) -> None:
        body = csv_of(
            csv_line("M7", "HN-BD-01"),
            csv_line("M8", "HN-BD-01", category="astronaut"),
            csv_line("M9", "HN-BD-02"),  # a branch outside the caller's scope
            csv_line("M6", "NOPE"),
        )
        got = client.post(
            "/api/v1/orgs/HN-BD-01/members/import",
            content=body,
            headers=auth("treasurer", "HN-BD-01") | CSV,
        )

        assert got.status_code == 422, got.text
        problem = got.json()
        assert problem["field"] == "file"
        assert [(p["line"], p["detail_en"].split(" is ")[0]) for p in problem["problems"]] == [
            (3, "category 'astronaut'"),
            (4, "branch 'HN-BD-02' does not exist"),
            (5, "branch 'NOPE' does not exist"),
        ]
        assert "dòng 4" in problem["detail_vi"] and "line 5" in problem["detail_en"]
        assert codes_in(client, "HN-BD-01") == ["M0", "M1", "M2"]

    @pytest.mark.parametrize(
        ("body", "content_type", "field"),
        [
            (b"code,full_name\nM7,A\n", "text/csv", "file"),
            (b"", "text/csv", "file"),
            (HEADER.encode() + b"\nM7,\xff\xfe,HN-BD-01\n", "text/csv", "file"),
            (b'{"code": "M7"}', "application/json", "Content-Type"),
            (b"--x\r\nContent-Disposition: form-data; name=other\r\n\r\nA\r\n--x--\r\n",
             "multipart/form-data; boundary=x", "file"),
        ],
    )  # fmt: skip
    def test_a_file_that_is_not_a_members_csv_is_refused_naming_the_field(
        self, client: TestClient, body: bytes, content_type: str, field: str
    ) -> None:
        got = client.post(
            "/api/v1/orgs/HN-BD-01/members/import",
            content=body,
            headers=auth("treasurer", "HN-BD-01") | {"Content-Type": content_type},
        )
        assert (got.status_code, got.json()["field"]) == (422, field), got.text
        assert got.json()["detail_vi"] and got.json()["detail_en"]


class TestRegister:
    def test_a_registered_member_owes_the_months_opened_and_the_next(
        self, client: TestClient
    ) -> None:
        treasurer = auth("treasurer", "HN-BD-01")
        made = client.post(
            "/api/v1/orgs/HN-BD-01/members", json=member_body("M7"), headers=treasurer
        )
        same = client.post(
            "/api/v1/orgs/HN-BD-01/members", json=member_body("M7"), headers=treasurer
        )
        opened = client.post("/api/v1/orgs/HN-BD-01/months/2027-01/open", headers=treasurer)

        assert made.status_code == 201, made.text
        assert made.json() == {
            "code": "M7",
            "full_name": "Trần Thị M7",
            "branch": "HN-BD-01",
            "created": True,
            "assessed_late": [  # joined in 2010: the months the branch had opened
                {"code": "M7", "period": "2026-11", "amount": DUES},
                {"code": "M7", "period": "2026-12", "amount": DUES},
            ],
        }
        assert (same.status_code, same.json()["created"]) == (200, False)
        assert same.json()["assessed_late"] == []
        assert opened.json()["members"] == 4
        statement = client.get("/api/v1/members/M7/statement", headers=treasurer).json()
        assert [(m["period"], m["assessed"]) for m in statement["months"]] == [
            ("2026-11", DUES),
            ("2026-12", DUES),
            ("2027-01", DUES),
        ]

    @pytest.mark.parametrize(
        ("changes", "status", "field"),
        [
            ({"full_name": "Người khác"}, 409, "code"),  # M1 is already registered
            ({"code": "M7", "monthly_base": None}, 422, "monthly_base"),
            ({"code": "M7", "branch_code": "HN-BD-02"}, 422, "branch_code"),
            ({"code": "M7", "branch_code": "NOPE"}, 422, "branch_code"),
            ({"code": "M7", "party_joined_on": "2027-01-01"}, 422, "party_joined_on"),
            ({"code": "M7", "category": "astronaut"}, 422, "category"),
            ({"code": "M7", "national_id": "12345"}, 422, "national_id"),
            ({"code": "M7", "salary": 1}, 422, "salary"),
        ],
    )
    def test_a_member_the_ledger_would_refuse_is_refused_naming_the_field(
        self, client: TestClient, changes: dict[str, Any], status: int, field: str
    ) -> None:
        got = client.post(
            "/api/v1/orgs/HN-BD-01/members",
            json=member_body("M1") | changes,
            headers=auth("treasurer", "HN-BD-01"),
        )
        assert (got.status_code, got.json()["field"]) == (status, field), got.text
        assert codes_in(client, "HN-BD-01") == ["M0", "M1", "M2"]

    def test_a_committee_registers_into_a_branch_named_in_the_body(
        self, client: TestClient
    ) -> None:
        body = member_body("M7", branch_code="HN-BD-02", category="student", monthly_base=None)
        got = client.post(
            "/api/v1/orgs/HN-BD/members", json=body, headers=auth("treasurer", "HN-BD")
        )
        at_committee = client.post(
            "/api/v1/orgs/HN-BD/members", json=member_body("M8"), headers=auth("admin", "TW")
        )

        assert (got.status_code, got.json()["branch"]) == (201, "HN-BD-02")
        assert codes_in(client, "HN-BD-02") == ["M3", "M4", "M7"]
        assert (at_committee.status_code, at_committee.json()["field"]) == (422, "branch_code")


# -- transfers and exemptions ---------------------------------------------------------------------
def month(client: TestClient, code: str, period: str) -> dict[str, Any]:
    statement = client.get(f"/api/v1/members/{code}/statement", headers=auth("admin", "TW")).json()
    return next(m for m in statement["months"] if m["period"] == period)


class TestTransfer:
    def test_a_committee_treasurer_moves_a_member_and_the_next_month_is_owed_there(
        self, client: TestClient
    ) -> None:
        treasurer = auth("treasurer", "HN-BD")
        moved = client.post(
            "/api/v1/members/M1/transfer",
            json={"to_branch": "HN-BD-02", "from_period": "2027-01"},
            headers=treasurer,
        )
        opened = client.post("/api/v1/orgs/HN-BD/months/2027-01/open", headers=treasurer)

        assert moved.status_code == 200, moved.text
        assert moved.json() == {
            "member": "M1",
            "from_branch": "HN-BD-01",
            "to_branch": "HN-BD-02",
            "from_period": "2027-01",
        }
        assert opened.json()["branches"] == 2
        assert month(client, "M1", "2027-01")["branch"] == "HN-BD-02"
        assert month(client, "M1", "2026-12")["branch"] == "HN-BD-01"

    def test_a_target_outside_the_scope_looks_like_an_unknown_branch(
        self, client: TestClient
    ) -> None:
        treasurer = auth("treasurer", "HN-BD-01")
        outside, unknown = (
            client.post(
                "/api/v1/members/M1/transfer",
                json={"to_branch": to, "from_period": "2027-01"},
                headers=treasurer,
            )
            for to in ("HN-BD-02", "NOPE")
        )
        assert outside.status_code == unknown.status_code == 404
        assert outside.json()["field"] == unknown.json()["field"] == "org"
        assert outside.json()["detail_en"].replace("HN-BD-02", "X") == unknown.json()[
            "detail_en"
        ].replace("NOPE", "X")
        assert month(client, "M1", "2026-12")["branch"] == "HN-BD-01"

    def test_a_transfer_into_a_month_already_opened_is_a_conflict(self, client: TestClient) -> None:
        got = client.post(
            "/api/v1/members/M1/transfer",
            json={"to_branch": "HN-BD-02", "from_period": "2026-12"},
            headers=auth("admin", "TW"),
        )
        assert got.status_code == 409, got.text
        bad = client.post(
            "/api/v1/members/M1/transfer",
            json={"to_branch": "HN-BD-02", "from_period": "2027-1"},
            headers=auth("admin", "TW"),
        )
        assert (bad.status_code, bad.json()["field"]) == (422, "from_period")


class TestExemption:
    def test_a_reduction_halves_a_month_already_assessed(self, client: TestClient) -> None:
        got = client.post(
            "/api/v1/members/M1/exemptions",
            json=exemption(from_period="2026-12", to_period="2026-12"),
            headers=auth("treasurer", "HN-BD-01"),
        )

        assert got.status_code == 201, got.text
        assert got.json()["member"] == "M1"
        december = month(client, "M1", "2026-12")
        assert (december["assessed"], december["exempt"], december["reduction_percent"]) == (
            DUES // 2,
            "hardship",
            50,
        )

    @pytest.mark.parametrize(
        ("changes", "field"),
        [({"percent": 40}, "percent"), ({"to_period": "27-03"}, "to_period"),
         ({"decision": " "}, "decision"), ({"kind": "unknown_kind"}, "kind"),
         ({"kind": "hardship", "to_period": "2028-12"}, "to_period")],
    )  # fmt: skip
    def test_an_exemption_the_policy_refuses_is_422_and_changes_nothing(
        self, client: TestClient, changes: dict[str, Any], field: str
    ) -> None:
        got = client.post(
            "/api/v1/members/M1/exemptions",
            json=exemption(**changes),
            headers=auth("treasurer", "HN-BD-01"),
        )
        assert (got.status_code, got.json()["field"]) == (422, field), got.text
        assert month(client, "M1", "2026-12")["assessed"] == DUES


# -- months and batches ---------------------------------------------------------------------------
class TestMonths:
    def test_a_treasurer_opens_and_closes_a_month_and_the_balance_follows(
        self, client: TestClient
    ) -> None:
        treasurer = auth("treasurer", "HN-BD-01")
        opened = client.post("/api/v1/orgs/HN-BD-01/months/2027-01/open", headers=treasurer)
        again = client.post("/api/v1/orgs/HN-BD-01/months/2027-01/open", headers=treasurer)
        closed = client.post("/api/v1/orgs/HN-BD-01/months/2026-11/close", headers=treasurer)
        closed_again = client.post("/api/v1/orgs/HN-BD-01/months/2026-11/close", headers=treasurer)

        assert opened.status_code == 200, opened.text
        assert opened.json() == {
            "org": "HN-BD-01",
            "period": "2027-01",
            "action": "open",
            "branches": 1,
            "members": 3,
            "amount": 3 * DUES,
            "skipped": [],
        }
        assert again.status_code == 409
        assert (closed.status_code, closed.json()["amount"]) == (200, DUES)  # M0's cash
        assert closed_again.status_code == 409
        january = client.get(
            "/api/v1/orgs/HN-BD-01/balance?period=2027-01", headers=treasurer
        ).json()
        assert january["assessed"] == 3 * DUES
        november = client.get(
            "/api/v1/orgs/HN-BD-01/balance?period=2026-11", headers=treasurer
        ).json()
        assert november["retained"] + november["payable_to_parent"] == DUES
        assert november["payable_to_parent"] > 0

    def test_a_committee_opens_a_month_skipping_a_branch_already_open(
        self, client: TestClient
    ) -> None:
        client.post("/api/v1/orgs/HN-BD-01/months/2027-01/open", headers=auth("admin", "TW"))
        got = client.post(
            "/api/v1/orgs/HN-BD/months/2027-01/open", headers=auth("treasurer", "HN-BD")
        )
        assert (got.json()["branches"], got.json()["skipped"]) == (1, ["HN-BD-01"])

    def test_a_month_that_is_not_a_month_is_422_naming_the_period(self, client: TestClient) -> None:
        got = client.post(
            "/api/v1/orgs/HN-BD-01/months/2027-13/open", headers=auth("treasurer", "HN-BD-01")
        )
        assert (got.status_code, got.json()["field"]) == (422, "period")


class TestBatch:
    def test_a_treasurer_asks_one_qr_for_two_members_who_then_see_it(
        self, client: TestClient
    ) -> None:
        got = client.post(
            "/api/v1/orgs/HN-BD-01/batches",
            json={"payer": "Công ty TNHH A", "members": ["M1", "M2"], "period": "2026-12"},
            headers=auth("treasurer", "HN-BD-01"),
        )

        assert got.status_code == 201, got.text
        request = got.json()
        assert (request["kind"], request["amount"], request["payer"]) == (
            "batch",
            2 * DUES,
            "Công ty TNHH A",
        )
        assert [(i["member"], i["months"], i["amount"]) for i in request["items"]] == [
            ("M1", ["2026-12"], DUES),
            ("M2", ["2026-12"], DUES),
        ]
        assert got.headers["location"].endswith(f"/payment-requests/{request['reference']}")
        seen = client.get(got.headers["location"], headers=auth("member", member="M2"))
        assert (seen.status_code, seen.json()["reference"]) == (200, request["reference"])

    def test_a_payroll_batch_is_marked_as_payroll(self, client: TestClient) -> None:
        got = client.post(
            "/api/v1/orgs/HN-BD-02/batches",
            json={"payer": "Sở Tài chính", "members": ["M3"], "payroll": True},
            headers=auth("admin", "TW"),
        )
        assert (got.status_code, got.json()["kind"]) == (201, "payroll")

    @pytest.mark.parametrize(
        ("org", "members", "status", "field"),
        [
            ("HN-BD-01", ["M1", "M3"], 404, "member"),  # M3 is outside HN-BD-01
            ("HN-BD", ["M1", "M3"], 409, "members"),  # two branches: one request each
            ("HN-BD-01", ["NOPE"], 404, "member"),
            ("HN-BD-01", [], 422, "members"),
        ],
    )
    def test_members_outside_the_organisation_or_of_two_branches_are_refused(
        self, client: TestClient, org: str, members: list[str], status: int, field: str
    ) -> None:
        got = client.post(
            f"/api/v1/orgs/{org}/batches",
            json={"payer": "Công ty TNHH A", "members": members},
            headers=auth("admin", "TW"),
        )
        assert (got.status_code, got.json()["field"]) == (status, field), got.text


# -- idempotency ------------------------------------------------------------------------------------
def events(client: TestClient) -> int:
    ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    return int(ledger.recorder.max_notification_id() or 0)


RETRIES = [
    (
        "/api/v1/orgs/HN-BD-01/members/import",
        {"content": csv_of(csv_line("M7", "HN-BD-01")), "headers": CSV},
        {"content": csv_of(csv_line("M8", "HN-BD-01")), "headers": CSV},
    ),
    (
        "/api/v1/orgs/HN-BD-01/members",
        {"json": member_body("M7")},
        {"json": member_body("M8")},
    ),
    (
        "/api/v1/members/M1/exemptions",
        {"json": exemption()},
        {"json": exemption(percent=70)},
    ),
    (
        "/api/v1/orgs/HN-BD-01/batches",
        {"json": {"payer": "A", "members": ["M1"]}},
        {"json": {"payer": "A", "members": ["M2"]}},
    ),
    ("/api/v1/orgs/HN-BD-01/months/2027-01/open", {}, {"json": {"note": 1}}),
    ("/api/v1/orgs/HN-BD-01/months/2026-11/close", {}, {"json": {"note": 1}}),
]


@pytest.mark.parametrize(("path", "first", "other"), RETRIES, ids=[r[0] for r in RETRIES])
def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing(
    client: TestClient, path: str, first: dict[str, Any], other: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": f"k-{path[-12:]}"}
    headers = auth("treasurer", "HN-BD-01") | key

    def post(call: dict[str, Any]) -> Any:
        extra = {k: v for k, v in call.items() if k != "headers"}
        return client.post(path, **extra, headers=headers | call.get("headers", {}))

    done = post(first)
    count = events(client)
    replay = post(first)
    refused = post(other)

    assert done.status_code in (200, 201), done.text
    assert (replay.status_code, replay.json()) == (done.status_code, done.json())
    assert replay.headers["idempotent-replayed"] == "true"
    assert events(client) == count
    assert (refused.status_code, refused.json()["field"]) == (422, "Idempotency-Key")


def test_a_transfer_retried_with_its_key_moves_the_member_once(client: TestClient) -> None:
    headers = auth("admin", "TW") | {"Idempotency-Key": "move-m1"}
    body = {"to_branch": "HN-BD-02", "from_period": "2027-01"}
    first = client.post("/api/v1/members/M1/transfer", json=body, headers=headers)
    count = events(client)
    again = client.post("/api/v1/members/M1/transfer", json=body, headers=headers)
    plain = client.post("/api/v1/members/M1/transfer", json=body, headers=auth("admin", "TW"))

    assert (first.status_code, again.json()) == (200, first.json())
    assert events(client) == count
    assert plain.status_code == 409  # without the key it is a second transfer: refused
