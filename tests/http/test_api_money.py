"""A treasurer's money over HTTP (SQLite and PostgreSQL): cash, statements, reconciliation,
suspense, remittances and the dues book.

Scenario (on top of the conftest's tree, clock 2026-12-15): HN-BD-01's statement for
December shows M1 paying both months by QR, a transfer from "M2" of exactly November's
dues (a proposal, never applied by itself), money nobody explained and a bank fee.
The treasurer confirms, resolves, takes cash from M0 to the bank, closes the month,
remits by bank transfer and downloads the book, whose figures are the balance's; then
January opens. Months are opened and closed through `POST …/months/{period}/open|close`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from api.http.routers.money import router
from ledger.app import DuesLedger
from ledger.reference_code import is_valid
from tests.http.conftest import B1_ACCOUNT, B2_ACCOUNT, DUES, auth

B1, B2 = "HN-BD-01", "HN-BD-02"
PARENT_ACCOUNT = ("970415", "113000123456")
HEADER = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ/Debit", "Ghi có/Credit", "Số dư", "Diễn giải"]
OPENING = 1_000_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLES = ("member", "treasurer", "auditor", "inspector", "admin")
Line = tuple[str, str, int, str]  # date, bank reference, signed amount, narrative

ROWS = [
    ("POST", "/api/v1/orgs/{code}/cash/receipts", "cash received from a member"),
    ("POST", "/api/v1/orgs/{code}/cash/deposits", "cash taken to the bank"),
    ("POST", "/api/v1/orgs/{code}/statements", "bank statement upload"),
    ("GET", "/api/v1/orgs/{code}/reconciliation", "bank reconciliation"),
    ("GET", "/api/v1/orgs/{code}/suspense", "suspense queue"),
    ("POST", "/api/v1/orgs/{code}/suspense/{number}/resolve", "resolve a suspense item"),
    ("POST", "/api/v1/orgs/{code}/suspense/{number}/confirm", "confirm a proposal"),
    ("POST", "/api/v1/orgs/{code}/remittances", "remit to the parent"),
    ("GET", "/api/v1/orgs/{code}/book", "dues book download"),
]


# -- helpers ---------------------------------------------------------------------------------
def treasurer(scope: str = B1) -> dict[str, str]:
    return auth("treasurer", scope)


def admin() -> dict[str, str]:
    return auth("admin", "TW")


def statement_csv(lines: list[Line], opening: int = OPENING) -> bytes:
    """Rows as a bank exports them: thousands separators, debit and credit columns, a
    running balance from `opening`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    balance = opening
    for date, reference, amount, narrative in lines:
        balance += amount
        debit, credit = (f"{-amount:,}", "") if amount < 0 else ("", f"{amount:,}")
        writer.writerow([date, reference, debit, credit, f"{balance:,}", narrative])
    return out.getvalue().encode("utf-8")


def statement_xlsx(lines: list[Line], opening: int = OPENING) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    rows = list(csv.reader(io.StringIO(statement_csv(lines, opening).decode())))
    for row in rows:
        ws.append(row)
    data = io.BytesIO()
    wb.save(data)
    return data.getvalue()


def qr_memo(code: str, account: str = B1_ACCOUNT[1]) -> str:
    return f"MBVCB.4525077405.{code} DP 12 2026.CT tu 0351000646393 NGUYEN VAN AN toi {account}"


def december_lines(code: str) -> list[Line]:
    """M1 pays November and December by QR; "M2" sends exactly one month without a code;
    someone sends money with no explanation; the bank takes a fee."""
    return [
        ("14/12/2026", "FT26348000101", 2 * DUES, qr_memo(code)),
        ("15/12/2026", "FT26349000102", DUES, "CT DEN:634915372811 M2 nop dang phi"),
        ("15/12/2026", "FT26349000103", 55_000, "IBFT chuyen tien"),
        ("15/12/2026", "FT26349000104", -11_000, "PHI QUAN LY TAI KHOAN T12"),
    ]


CLOSING = OPENING + 2 * DUES + DUES + 55_000 - 11_000


def upload(
    client: TestClient,
    content: bytes,
    *,
    org: str = B1,
    headers: dict[str, str] | None = None,
    filename: str = "sao-ke-12.csv",
    params: dict[str, str] | None = None,
    media: str | None = None,
) -> httpx.Response:
    """A multipart upload, as a browser's form sends it."""
    media = media or (XLSX if filename.endswith(".xlsx") else "text/csv")
    got: httpx.Response = client.post(
        f"/api/v1/orgs/{org}/statements",
        files={"file": (filename, content, media)},
        params=params,
        headers=headers or treasurer(),
    )
    return got


def raw_upload(
    client: TestClient, content: bytes, content_type: str = "text/csv", **params: str
) -> httpx.Response:
    got: httpx.Response = client.post(
        f"/api/v1/orgs/{B1}/statements",
        content=content,
        params=params,
        headers={**treasurer(), "Content-Type": content_type},
    )
    return got


def request_code(client: TestClient, member: str = "M1") -> str:
    made = client.post(f"/api/v1/members/{member}/payment-requests", json={}, headers=treasurer())
    assert made.status_code == 201, made.text
    return str(made.json()["reference"])


def items(client: TestClient, org: str = B1, everything: bool = False) -> list[dict[str, Any]]:
    got = client.get(
        f"/api/v1/orgs/{org}/suspense", params={"all": str(everything).lower()}, headers=admin()
    )
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


def state(client: TestClient, org: str = B1) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        items(client, org, everything=True),
        client.get(f"/api/v1/orgs/{org}/reconciliation", headers=admin()).json(),
        client.get(f"/api/v1/orgs/{org}/balance", headers=admin()).json(),
        client.get("/api/v1/members/M1/statement", headers=admin()).json(),
    )


def outstanding(client: TestClient, member: str) -> int:
    return int(
        client.get(f"/api/v1/members/{member}/statement", headers=admin()).json()["outstanding"]
    )


def roll(
    client: TestClient, action: str, period: str, org: str = B1, status: int = 200
) -> dict[str, Any]:
    """Open or close a month over HTTP (`POST …/months/{period}/open|close`)."""
    done = client.post(f"/api/v1/orgs/{org}/months/{period}/{action}", headers=treasurer())
    assert done.status_code == status, done.text
    return dict(done.json())


def problem(got: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert got.status_code == status, got.text
    assert got.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = got.json()
    assert body["field"] == field
    assert body["detail_vi"] and body["detail_en"]
    return body


# -- who may do what -------------------------------------------------------------------------
@dataclass(frozen=True)
class Walk:
    method: str
    template: str
    send: Callable[[TestClient, str, dict[str, str]], httpx.Response]
    expected: tuple[tuple[int, int], ...]  # role -> (inside HN-BD-01, outside HN-BD-02)


def write(ok: int) -> tuple[tuple[int, int], ...]:
    return ((403, 403), (ok, 404), (403, 403), (403, 403), (ok, ok))


READ = ((403, 403), (200, 404), (200, 404), (200, 404), (200, 200))
MEMBER_OF = {B1: "M1", B2: "M3"}
MEMBERS_OF = {B1: ("M1", "M2"), B2: ("M3", "M4")}
ACCOUNT_OF = {B1: B1_ACCOUNT[1], B2: B2_ACCOUNT[1]}
_serial = iter(range(1, 1000))


def _open_item(client: TestClient, org: str, proposal: bool) -> str:
    found = (i for i in items(client, org) if (i.get("proposal") is not None) == proposal)
    return next((str(i["number"]) for i in found), "20261215-1")


def _lines_of(org: str) -> list[Line]:
    """Two transfers of one month each naming a member (proposals), two unexplained."""
    first, second = MEMBERS_OF[org]
    return [
        ("14/12/2026", f"FT{org}1", DUES, f"{first} nop dang phi toi {ACCOUNT_OF[org]}"),
        ("14/12/2026", f"FT{org}2", DUES, f"{second} nop dang phi toi {ACCOUNT_OF[org]}"),
        ("15/12/2026", f"FT{org}3", 55_000, "IBFT chuyen tien"),
        ("15/12/2026", f"FT{org}4", 44_000, "IBFT chuyen tien lan 2"),
    ]


WALK = [
    Walk(
        "POST",
        "/api/v1/orgs/{code}/statements",
        lambda c, org, h: upload(c, statement_csv(_lines_of(org)), org=org, headers=h),
        write(200),
    ),
    Walk(
        "GET",
        "/api/v1/orgs/{code}/reconciliation",
        lambda c, org, h: c.get(f"/api/v1/orgs/{org}/reconciliation", headers=h),
        READ,
    ),
    Walk(
        "GET",
        "/api/v1/orgs/{code}/suspense",
        lambda c, org, h: c.get(f"/api/v1/orgs/{org}/suspense", headers=h),
        READ,
    ),
    Walk(
        "POST",
        "/api/v1/orgs/{code}/suspense/{number}/resolve",
        lambda c, org, h: c.post(
            f"/api/v1/orgs/{org}/suspense/{_open_item(c, org, False)}/resolve",
            json={"not_dues": "Tiền ủng hộ / a donation"},
            headers=h,
        ),
        write(200),
    ),
    Walk(
        "POST",
        "/api/v1/orgs/{code}/suspense/{number}/confirm",
        lambda c, org, h: c.post(
            f"/api/v1/orgs/{org}/suspense/{_open_item(c, org, True)}/confirm", headers=h
        ),
        write(200),
    ),
    # after the proposals are confirmed: cash paid first would make them stale (409)
    Walk(
        "POST",
        "/api/v1/orgs/{code}/cash/receipts",
        lambda c, org, h: c.post(
            f"/api/v1/orgs/{org}/cash/receipts",
            json={"member": MEMBER_OF[org], "amount": DUES, "receipt": f"BL-{next(_serial)}"},
            headers=h,
        ),
        write(201),
    ),
    Walk(
        "POST",
        "/api/v1/orgs/{code}/cash/deposits",
        lambda c, org, h: c.post(
            f"/api/v1/orgs/{org}/cash/deposits",
            json={"amount": DUES, "slip": f"GNT-{next(_serial)}"},
            headers=h,
        ),
        write(201),
    ),
    Walk(
        "POST",
        "/api/v1/orgs/{code}/remittances",
        lambda c, org, h: c.post(
            f"/api/v1/orgs/{org}/remittances", json={"period": "2026-11"}, headers=h
        ),
        write(200),  # November is not closed: nothing to remit yet
    ),
    Walk(
        "GET",
        "/api/v1/orgs/{code}/book",
        lambda c, org, h: c.get(
            f"/api/v1/orgs/{org}/book", params={"period": "2026-12"}, headers=h
        ),
        READ,
    ),
]


def caller(role: str) -> dict[str, str]:
    if role == "member":
        return auth("member", B1, member="M0")
    return auth(role, "TW" if role == "admin" else B1)


class TestWhoMayDoWhat:
    def test_every_money_endpoint_answers_every_role_inside_and_outside_its_scope(
        self, client: TestClient
    ) -> None:
        for org in (B1, B2):  # two proposals and two unexplained lines in each queue
            counts = upload(client, statement_csv(_lines_of(org)), org=org, headers=admin()).json()
            assert (counts["proposed"], counts["suspense"]) == (2, 2)
        wrong = []
        for row in WALK:
            for role, (want_in, want_out) in zip(ROLES, row.expected, strict=True):
                for where, org, want in (("inside", B1, want_in), ("outside", B2, want_out)):
                    got = row.send(client, org, caller(role))
                    if got.status_code != want:
                        wrong.append((row.template, role, where, want, got.status_code, got.text))
                    elif want >= 400:
                        assert got.headers["content-type"] == "application/problem+json"
        assert wrong == []

    def test_the_walk_covers_every_route_of_the_router(self) -> None:
        routes = {
            (method, route.path)  # type: ignore[attr-defined]
            for route in router.routes
            for method in route.methods  # type: ignore[attr-defined]
        }
        assert routes == {(m, p) for m, p, _ in ROWS} == {(w.method, w.template) for w in WALK}

    def test_without_a_token_every_money_endpoint_is_401(self, client: TestClient) -> None:
        for method, template, _ in ROWS:
            path = template.format(code=B1, number="20261215-1")
            got = client.request(method, path)
            assert got.status_code == 401, (path, got.text)

    def test_a_member_named_in_a_body_must_be_under_the_organisation(
        self, client: TestClient
    ) -> None:
        other_branch = client.post(
            f"/api/v1/orgs/{B1}/cash/receipts",
            json={"member": "M3", "amount": DUES, "receipt": "BL-1"},
            headers=admin(),
        )
        problem(other_branch, 404, "member")
        upload(client, statement_csv(_lines_of(B1)), headers=treasurer())
        to_m3 = client.post(
            f"/api/v1/orgs/{B1}/suspense/20261214-2/resolve",
            json={"member": "M3"},
            headers=treasurer(),
        )
        problem(to_m3, 404, "member")
        assert outstanding(client, "M3") == 2 * DUES

    def test_money_in_suspense_is_split_between_members(self, client: TestClient) -> None:
        upload(client, statement_csv(_lines_of(B1)), headers=treasurer())
        [item] = [i for i in items(client) if i["number"] == "20261214-2"]
        url = f"/api/v1/orgs/{B1}/suspense/20261214-2/resolve"
        half = item["amount"] // 2
        shares = [{"member": "M1", "amount": half}, {"member": "M2", "amount": half}]
        if 2 * half != item["amount"]:
            shares[1]["amount"] += 1
        short = client.post(url, json={"split": shares[:1]}, headers=treasurer())
        problem(short, 422, "split")
        elsewhere = [shares[0], {"member": "M3", "amount": shares[1]["amount"]}]
        problem(client.post(url, json={"split": elsewhere}, headers=treasurer()), 404, "member")
        done = client.post(url, json={"split": shares}, headers=treasurer())
        assert done.status_code == 200, done.text
        assert done.json()["how"] == "members"
        assert [(p["member"], p["amount"]) for p in done.json()["payments"]] == [
            (s["member"], s["amount"]) for s in shares
        ]
        assert "20261214-2" not in [i["number"] for i in items(client)]


# -- the story -------------------------------------------------------------------------------
class TestATreasurersMonthEnd:
    def test_from_the_statement_to_the_book(self, client: TestClient, seeded: DuesLedger) -> None:
        # December was opened when the tree was set up (the fixture): it cannot open twice.
        assert "already open" in roll(client, "open", "2026-12", status=409)["detail_en"]
        # M1 asks for a QR and pays November and December by transfer.
        code = request_code(client, "M1")
        sent = upload(client, statement_csv(december_lines(code)))
        assert sent.status_code == 200, sent.text
        assert sent.json() == {
            "new": 4,
            "already": 0,
            "matched": 1,
            "cleared": 0,
            "reversed": 0,
            "proposed": 1,
            "suspense": 1,
            "flagged": 1,
            "held": 0,
            "lines": 4,
            "layout": sent.json()["layout"],
            "account": B1_ACCOUNT[1],
            "closing_balance": CLOSING,
            "differing": [],
        }
        assert outstanding(client, "M1") == 0
        assert outstanding(client, "M2") == 2 * DUES  # proposed, not applied

        report = client.get(f"/api/v1/orgs/{B1}/reconciliation", headers=treasurer()).json()
        assert report["matched"] == {"request": 1}
        assert [(i["id"], i["number"], i["proposal"]["member"]) for i in report["proposed"]] == [
            (f"{B1}/20261215-1", "20261215-1", "M2")
        ]
        assert [(i["number"], i["amount"]) for i in report["suspense"]] == [("20261215-2", 55_000)]
        assert [(i["number"], i["amount"]) for i in report["flagged"]] == [("20261215-3", 11_000)]
        [account] = report["accounts"]
        assert (account["statement_closing"], account["ledger_balance"]) == (CLOSING, CLOSING)
        assert account["difference"] == 0

        confirmed = client.post(
            f"/api/v1/orgs/{B1}/suspense/20261215-1/confirm", headers=treasurer()
        )
        assert confirmed.status_code == 200, confirmed.text
        assert (confirmed.json()["how"], confirmed.json()["member"]) == ("member", "M2")
        assert outstanding(client, "M2") == DUES  # November paid from suspense
        gift = client.post(
            f"/api/v1/orgs/{B1}/suspense/20261215-2/resolve",
            json={"not_dues": "Tiền ủng hộ quỹ chi bộ"},
            headers=treasurer(),
        )
        fee = client.post(
            f"/api/v1/orgs/{B1}/suspense/20261215-3/resolve",
            json={"not_dues": "Phí ngân hàng"},
            headers=treasurer(),
        )
        assert [gift.json()["how"], fee.json()["reason"]] == ["not_dues", "Phí ngân hàng"]
        assert items(client) == []
        assert [i["resolution"]["how"] for i in items(client, everything=True)] == [
            "member",
            "not_dues",
            "not_dues",
        ]

        cash = client.post(
            f"/api/v1/orgs/{B1}/cash/receipts",
            json={"member": "M0", "amount": DUES, "receipt": "BL-0001"},
            headers=treasurer(),
        )
        assert cash.status_code == 201, cash.text
        assert cash.json()["months"] == [{"branch": B1, "period": "2026-12", "amount": DUES}]
        assert outstanding(client, "M0") == 0
        slip = client.post(
            f"/api/v1/orgs/{B1}/cash/deposits",
            json={"amount": DUES, "slip": "GNT-0001"},
            headers=treasurer(),
        )
        assert slip.status_code == 201, slip.text
        assert is_valid(slip.json()["reference"])
        assert slip.json()["account"] == B1_ACCOUNT[1]
        assert slip.headers["location"].endswith(f"/payment-requests/{slip.json()['reference']}")

        closed = roll(client, "close", "2026-12")
        assert (closed["branches"], closed["amount"]) == (1, 2 * DUES)  # M0 in cash, M1 by QR
        seeded.add_account("HN-BD", *PARENT_ACCOUNT, "DANG UY PHUONG BA DINH", "organisation")
        figures = client.get(
            f"/api/v1/orgs/{B1}/balance", params={"period": "2026-12"}, headers=treasurer()
        ).json()
        payable = figures["payable_to_parent"] - figures["remitted_to_parent"]
        assert payable > 0

        remitted = client.post(
            f"/api/v1/orgs/{B1}/remittances",
            json={"period": "2026-12", "via": "bank"},
            headers=treasurer(),
        )
        assert remitted.status_code == 201, remitted.text
        sent_up = remitted.json()
        assert (sent_up["parent"], sent_up["amount"], sent_up["in_transit"]) == (
            "HN-BD",
            payable,
            payable,
        )
        assert is_valid(sent_up["reference"]) and sent_up["payload"].startswith("000201")
        parent = client.get("/api/v1/orgs/HN-BD/reconciliation", headers=admin()).json()
        assert parent["in_transit"] == [{"child": B1, "period": "2026-12", "amount": payable}]
        again = client.post(
            f"/api/v1/orgs/{B1}/remittances",
            json={"period": "2026-12", "via": "bank"},
            headers=treasurer(),
        )
        assert again.status_code == 200, again.text  # nothing remitted twice; the code again
        assert {k: again.json()[k] for k in ("amount", "reference", "payload", "in_transit")} == {
            "amount": 0,
            "reference": sent_up["reference"],
            "payload": sent_up["payload"],
            "in_transit": payable,
        }

        book = client.get(
            f"/api/v1/orgs/{B1}/book", params={"period": "2026-12"}, headers=treasurer()
        )
        assert book.status_code == 200, book.text
        assert book.headers["content-type"] == "text/csv; charset=utf-8"
        assert book.headers["content-disposition"] == (
            f'attachment; filename="so-dang-phi-{B1}-2026-12.csv"'
        )
        after = client.get(
            f"/api/v1/orgs/{B1}/balance", params={"period": "2026-12"}, headers=treasurer()
        ).json()
        members, month = book_rows(book.content)
        assert [r[1] for r in members] == ["Nguyễn Văn M0", "Nguyễn Văn M1", "Nguyễn Văn M2"]
        # December: M0 in cash, M1 by QR (M2 paid only November, from suspense)
        assert sum(int(r[8]) for r in members) == after["collected"] == 2 * DUES
        assert [int(month[i]) for i in (5, 6, 7, 8)] == [
            after["collected"],
            after["retained"],
            after["payable_to_parent"],
            after["remitted_to_parent"],
        ]
        assert int(month[4]) == after["outstanding"] == DUES  # M2's December

        january = roll(client, "open", "2027-01")  # and the next month begins
        assert (january["branches"], january["members"], january["amount"]) == (1, 3, 3 * DUES)


def book_rows(content: bytes) -> tuple[list[list[str]], list[str]]:
    """Part I's member rows and Part II's December row of a CSV dues book."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    part2 = next(i for i, r in enumerate(rows) if r and r[0].startswith("Phần II"))
    members = [r for r in rows[:part2] if r and r[0].isdigit()]
    [month] = [r for r in rows[part2:] if len(r) > 1 and r[1] == "12/2026"]
    return members, month


# -- statements ------------------------------------------------------------------------------
class TestStatementUpload:
    def test_uploading_the_same_statement_again_records_nothing_new(
        self, client: TestClient
    ) -> None:
        content = statement_csv(december_lines(request_code(client)))
        first = raw_upload(client, content)
        before = state(client)
        again = raw_upload(client, content)
        assert (first.json()["new"], first.json()["already"]) == (4, 0)
        assert again.status_code == 200
        assert {k: again.json()[k] for k in ("new", "already", "matched", "suspense")} == {
            "new": 0,
            "already": 4,
            "matched": 0,
            "suspense": 0,
        }
        assert state(client) == before

    def test_the_account_is_named_with_spaces_or_dots_or_not_at_all(
        self, client: TestClient
    ) -> None:
        """`?account=1012 345 678` was refused as unregistered, and an empty `?account=`
        answered 404 naming "Account  is not..." (a reviewer's check): the number is read
        without spaces, dots or dashes, and empty is not given (B1's only account)."""
        content = statement_csv(december_lines(request_code(client)))
        for i, account in enumerate(["", " 1012 345 678 ", "1012.345.678", "1012-345-678"]):
            got = raw_upload(client, content, account=account)
            assert got.status_code == 200, got.text
            assert got.json()["account"] == B1_ACCOUNT[1]
            assert got.json()["new"] == (4 if i == 0 else 0)
        refused = problem(raw_upload(client, content, account=" 999 "), 404, "account")
        assert refused["detail_en"].startswith("Account 999 is not")

    def test_an_amount_too_large_is_refused_and_every_read_still_answers(
        self, client: TestClient
    ) -> None:
        # 10^19 đ does not fit the read models' 64-bit sums: recorded, it stopped every
        # read model catching up, for every user, for good
        before = state(client)
        for amount in (10**19, 10**13):
            got = raw_upload(client, statement_csv([("15/12/2026", "FT19", amount, "TYPO")], 0))
            assert got.status_code == 422, got.text
            assert "quá lớn" in got.text and "too large" in got.text
        assert state(client) == before
        ok = raw_upload(client, statement_csv([("15/12/2026", "FT20", 10**13 - 1, "LON")], 0))
        assert ok.status_code == 200, ok.text
        assert client.get("/api/v1/orgs/HN-BD-02/balance", headers=admin()).status_code == 200

    def test_an_amount_of_thousands_of_digits_is_a_bad_line_not_a_500(
        self, client: TestClient
    ) -> None:
        # Python's int() refuses text of over 4,300 digits (ValueError, not the cell's
        # error): a balance or credit cell a spreadsheet filled with 9s gave a 500
        before = state(client)
        head = statement_csv([])
        for row in (f"15/12/2026,FT21,,1,{'9' * 5000},X", f"15/12/2026,FT22,,{'9' * 5000},,X"):
            got = problem(raw_upload(client, head + row.encode()), 422, "file")
            assert [line["line"] for line in got["lines"]] == [2]
            assert "quá lớn" in got["detail_vi"] and "too large" in got["detail_en"]
            assert len(got["detail"]) < 1000
        assert state(client) == before

    def test_an_xlsx_statement_is_read_like_a_csv(self, client: TestClient) -> None:
        content = statement_xlsx(december_lines(request_code(client)))
        got = upload(client, content, filename="sao-ke.xlsx")
        assert got.status_code == 200, got.text
        assert (got.json()["new"], got.json()["matched"], got.json()["closing_balance"]) == (
            4,
            1,
            CLOSING,
        )
        raw = raw_upload(client, content, XLSX)
        assert (raw.json()["new"], raw.json()["already"]) == (0, 4)
        named = raw_upload(client, content, "application/octet-stream", filename="s.xlsx")
        assert (named.json()["already"], named.json()["layout"]) == (4, got.json()["layout"])

    def test_a_bad_file_is_422_naming_each_bad_line_and_records_nothing(
        self, client: TestClient
    ) -> None:
        good = statement_csv(december_lines(request_code(client))).decode()
        bad = good.replace('"11,000"', "mười một nghìn").replace("15/12/2026", "31/02/2026", 1)
        before = state(client)

        got = problem(raw_upload(client, bad.encode()), 422, "file")

        assert sorted({line["line"] for line in got["lines"]}) == [3, 5]
        assert "dòng 3" in got["detail_vi"] and "line 5" in got["detail_en"]
        assert state(client) == before

    def test_what_cannot_be_a_statement_is_refused_naming_the_field(
        self, client: TestClient
    ) -> None:
        content = statement_csv(december_lines("DPAAAAAAAA"))
        before = state(client)
        problem(raw_upload(client, content, "application/json"), 422, "Content-Type")
        problem(upload(client, content, filename="a.pdf", media="application/pdf"), 422, "file")
        problem(raw_upload(client, b"", "text/csv"), 422, "file")
        no_part = client.post(
            f"/api/v1/orgs/{B1}/statements",
            files={"other": ("s.csv", content, "text/csv")},
            headers=treasurer(),
        )
        problem(no_part, 422, "file")
        problem(raw_upload(client, content, "application/octet-stream"), 422, "Content-Type")
        problem(raw_upload(client, b"a,b\n1,2\n"), 422, "header")
        problem(raw_upload(client, content, format="no-such-bank"), 422, "format")
        problem(raw_upload(client, content, account="999"), 404, "account")
        assert state(client) == before

    def test_a_retried_upload_with_its_key_gets_the_first_answer(self, client: TestClient) -> None:
        content = statement_csv(december_lines(request_code(client)))
        key = {**treasurer(), "Idempotency-Key": "stmt-1"}
        first = upload(client, content, headers=key)
        # a multipart body is encoded afresh (another boundary): still the same request
        retry = upload(client, content, headers=key)
        other = upload(client, statement_csv(december_lines("DPAAAAAAAA")[:2]), headers=key)

        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.json() == first.json() and retry.json()["new"] == 4
        assert retry.headers["idempotent-replayed"] == "true"
        problem(other, 422, "Idempotency-Key")


# -- suspense --------------------------------------------------------------------------------
@pytest.fixture
def queue(client: TestClient) -> TestClient:
    """HN-BD-01's December statement uploaded: items of 15 December 1 (proposal M2), 2 (in),
    3 (out)."""
    assert upload(client, statement_csv(december_lines(request_code(client)))).status_code == 200
    return client


class TestSuspense:
    def test_the_queue_is_a_page_of_open_items_and_all_shows_resolved_ones(
        self, queue: TestClient
    ) -> None:
        page = queue.get(f"/api/v1/orgs/{B1}/suspense?size=2", headers=treasurer()).json()
        assert (page["total"], page["size"], [i["id"] for i in page["items"]]) == (
            3,
            2,
            [f"{B1}/20261215-1", f"{B1}/20261215-2"],
        )
        assert page["items"][0]["proposal"] == {
            "member": "M2",
            "months": ["2026-11"],
            "amount": DUES,
            "by": "code",
        }
        second = queue.get(f"/api/v1/orgs/{B1}/suspense?page=2&size=2", headers=treasurer())
        assert [(i["number"], i["direction"]) for i in second.json()["items"]] == [
            ("20261215-3", "out")
        ]

    def test_a_refund_gives_the_code_for_the_transfers_memo(self, queue: TestClient) -> None:
        got = queue.post(
            f"/api/v1/orgs/{B1}/suspense/20261215-2/resolve",
            json={"refund": True},
            headers=treasurer(),
        )
        assert got.status_code == 200, got.text
        assert got.json()["how"] == "refund" and is_valid(got.json()["reference"])
        assert [i["number"] for i in items(queue)] == ["20261215-1", "20261215-3"]

    def test_money_can_be_assigned_to_a_member_and_months(self, queue: TestClient) -> None:
        got = queue.post(
            f"/api/v1/orgs/{B1}/suspense/20261215-2/resolve",
            json={"member": "M2", "months": ["2026-12"]},
            headers=treasurer(),
        )
        assert got.status_code == 200, got.text
        assert (got.json()["member"], got.json()["payment"]) == ("M2", f"SUSPENSE:{B1}/20261215-2")
        december = [
            m
            for m in queue.get("/api/v1/members/M2/statement", headers=admin()).json()["months"]
            if m["period"] == "2026-12"
        ]
        assert december[0]["paid"] == 55_000
        assert outstanding(queue, "M2") == 2 * DUES - 55_000

    def test_money_for_a_member_who_has_moved_on_can_be_booked_by_the_old_branch(
        self, queue: TestClient, seeded: DuesLedger, frozen: Any
    ) -> None:
        seeded.transfer_member("M2", "HN-BD-02", "2027-01")
        frozen.move_to("2027-01-05 10:00:00+07:00")  # M2 is HN-BD-02's now
        url = f"/api/v1/orgs/{B1}/suspense/20261215-2/resolve"
        # M4 was never HN-BD-01's: to its treasurer, as unknown as a code that does not exist
        problem(queue.post(url, json={"member": "M4"}, headers=treasurer()), 404, "member")
        got = queue.post(url, json={"member": "M2"}, headers=treasurer())
        assert got.status_code == 200, got.text
        assert got.json()["member"] == "M2"
        assert outstanding(queue, "M2") == 2 * DUES - 55_000

    def test_refusals_name_the_field_and_change_nothing(self, queue: TestClient) -> None:
        before = state(queue)
        url = f"/api/v1/orgs/{B1}/suspense"
        t = treasurer()
        none = problem(
            queue.post(f"{url}/20261215-2/resolve", json={}, headers=t), 422, "resolution"
        )
        # the body's fields, as the caller names them (it named the CLI's flags alone)
        for said in (none["detail_vi"], none["detail_en"]):
            assert all(
                f in said for f in ("member", "split", "refund", "not_dues", "spending", "code")
            )
        both = {"refund": True, "not_dues": "x"}
        problem(queue.post(f"{url}/20261215-2/resolve", json=both, headers=t), 422, "resolution")
        problem(
            queue.post(f"{url}/20261215-2/resolve", json={"not_dues": " "}, headers=t),
            422,
            "not_dues",
        )
        problem(
            queue.post(f"{url}/20261215-3/resolve", json={"refund": True}, headers=t),
            409,
            "resolution",
        )
        for number in ("20261215-2", "20261215-3"):  # money in; no such spending
            problem(
                queue.post(f"{url}/{number}/resolve", json={"spending": "UNC-9"}, headers=t),
                409,
                "spending",
            )
        # the bank line of a transfer whose code it left out: there is no such code
        unknown = {"code": "DPNOSUCH00"}
        problem(queue.post(f"{url}/20261215-2/resolve", json=unknown, headers=t), 404, "code")
        problem(queue.post(f"{url}/20261215-2/confirm", headers=t), 409, "number")
        problem(
            queue.post(f"{url}/20261215-99/resolve", json={"refund": True}, headers=t),
            404,
            "number",
        )
        problem(
            queue.post(f"{url}/20261216-1/resolve", json={"refund": True}, headers=t), 404, "number"
        )
        problem(queue.post(f"{url}/0/confirm", headers=t), 422, "number")
        problem(queue.post(f"{url}/2026-12-15-1/confirm", headers=t), 422, "number")
        problem(
            queue.post(f"{url}/20261215-2/resolve", json={"member": "NOPE"}, headers=t),
            404,
            "member",
        )
        problem(
            queue.post(f"{url}/20261215-2/resolve", json={"colour": "red"}, headers=t),
            422,
            "colour",
        )
        assert state(queue) == before

    def test_an_item_held_before_queues_were_kept_by_day_keeps_its_url(
        self, client: TestClient, seeded: DuesLedger
    ) -> None:
        """`…/suspense/n/…`: an item of the queue without a day (written as the ledger held
        lines before 2026-11-23) is listed and resolved by its old number."""
        from ledger.bank_transaction import BankTransaction, fact_id
        from ledger.ports import BankTransactionFact
        from ledger.postings import credit, debit
        from ledger.suspense import SuspenseQueue

        fact = BankTransactionFact(
            source="sepay",
            external_id="SEPAY-OLD-1",
            bin_code=None,
            account_number=B1_ACCOUNT[1],
            direction="in",
            amount=33_000,
            value_date="2026-12-10",
            narrative="IBFT CHUYEN TIEN",
            reference="FT26344000001",
        )
        tx = BankTransaction.record(
            fact_id(fact), recorded_at="2026-12-10T10:00:00+07:00", **fact.as_dict()
        )
        bank, held = f"{B1}:assets:bank:{B1_ACCOUNT[1]}", f"{B1}:liabilities:suspense"
        tx.hold(B1, False, [debit(bank, 33_000), credit(held, 33_000)])
        old = SuspenseQueue(org_code=B1)
        old.add(str(tx.id), "in", 33_000, fact.value_date, fact.narrative)
        seeded.save(tx, old)

        assert [(i["id"], i["number"]) for i in items(client)] == [(f"{B1}/1", "1")]
        got = client.post(
            f"/api/v1/orgs/{B1}/suspense/1/resolve",
            json={"not_dues": "Lãi tiền gửi"},
            headers=treasurer(),
        )
        assert got.status_code == 200, got.text
        assert (got.json()["id"], got.json()["how"]) == (f"{B1}/1", "not_dues")
        assert items(client) == []

    def test_an_item_is_resolved_once_and_a_retry_with_its_key_is_replayed(
        self, queue: TestClient
    ) -> None:
        key = {**treasurer(), "Idempotency-Key": "confirm-1"}
        first = queue.post(f"/api/v1/orgs/{B1}/suspense/20261215-1/confirm", headers=key)
        retry = queue.post(f"/api/v1/orgs/{B1}/suspense/20261215-1/confirm", headers=key)
        again = queue.post(f"/api/v1/orgs/{B1}/suspense/20261215-1/confirm", headers=treasurer())

        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
        problem(again, 409, "number")
        assert outstanding(queue, "M2") == DUES  # November paid once


# -- cash and remittances --------------------------------------------------------------------
class TestCash:
    def test_a_receipt_counts_once_and_another_amount_on_it_is_refused(
        self, client: TestClient
    ) -> None:
        body = {"member": "M3", "amount": DUES, "receipt": "BL-0007"}
        first = client.post(f"/api/v1/orgs/{B2}/cash/receipts", json=body, headers=admin())
        again = client.post(f"/api/v1/orgs/{B2}/cash/receipts", json=body, headers=admin())
        assert (first.status_code, again.status_code) == (201, 200)
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
        assert first.json()["reference"] == again.json()["reference"] == f"CASH:{B2}:BL-0007"
        assert first.json()["months"] == [{"branch": B2, "period": "2026-11", "amount": DUES}]
        assert outstanding(client, "M3") == DUES
        receipts = client.get("/api/v1/members/M3/receipts", headers=admin()).json()
        assert [(r["channel"], r["amount"]) for r in receipts["items"]] == [("cash", DUES)]

        before = state(client, B2)
        other = client.post(
            f"/api/v1/orgs/{B2}/cash/receipts", json={**body, "amount": 9_000}, headers=admin()
        )
        problem(other, 409, "receipt")
        assert state(client, B2) == before

    def test_a_receipt_for_named_months_and_bad_amounts(self, client: TestClient) -> None:
        url = f"/api/v1/orgs/{B1}/cash/receipts"
        got = client.post(
            url,
            json={"member": "M1", "amount": DUES, "receipt": "BL-9", "months": ["2026-12"]},
            headers=treasurer(),
        )
        assert got.json()["months"] == [{"branch": B1, "period": "2026-12", "amount": DUES}]
        for amount in (0, -5, 1.5, "70.000"):
            bad = {"member": "M1", "amount": amount, "receipt": "BL-10"}
            problem(client.post(url, json=bad, headers=treasurer()), 422, "amount")
        blank = {"member": "M1", "amount": DUES, "receipt": "  "}
        problem(client.post(url, json=blank, headers=treasurer()), 422, "receipt")
        assert outstanding(client, "M1") == DUES

    def test_the_same_deposit_slip_gives_the_same_code_and_a_key_replays(
        self, client: TestClient
    ) -> None:
        url = f"/api/v1/orgs/{B1}/cash/deposits"
        key = {**treasurer(), "Idempotency-Key": "dep-1"}
        first = client.post(url, json={"amount": DUES, "slip": "GNT-7"}, headers=key)
        retry = client.post(url, json={"amount": DUES, "slip": "GNT-7"}, headers=key)
        same_slip = client.post(url, json={"amount": DUES, "slip": "GNT-7"}, headers=treasurer())
        assert retry.headers["idempotent-replayed"] == "true"
        assert first.json() == retry.json() == same_slip.json()
        assert first.json()["seen_on_statement"] is False
        problem(
            client.post(url, json={"amount": 1, "slip": "GNT-7"}, headers=key),
            422,
            "Idempotency-Key",
        )
        problem(
            client.post(url, json={"amount": 1, "slip": "GNT-7"}, headers=treasurer()), 422, "slip"
        )
        status = client.get(first.headers["location"], headers=treasurer()).json()
        assert (status["kind"], status["amount"]) == ("deposit", DUES)


class TestRemittances:
    def test_nothing_to_remit_is_200_with_amount_0(self, client: TestClient) -> None:
        got = client.post(
            f"/api/v1/orgs/{B1}/remittances", json={"period": "2026-12"}, headers=treasurer()
        )
        assert got.status_code == 200, got.text
        assert (got.json()["amount"], got.json()["parent"], got.json()["reference"]) == (
            0,
            "HN-BD",
            None,
        )
        assert got.json()["over_remitted"] == 0

    def test_a_month_never_opened_is_404_not_nothing_to_remit(self, client: TestClient) -> None:
        got = client.post(
            f"/api/v1/orgs/{B1}/remittances", json={"period": "2062-12"}, headers=treasurer()
        )
        assert got.status_code == 404, got.text
        assert "2062-12" in got.json()["detail_en"]

    def test_through_the_portal_once_even_when_retried(self, client: TestClient) -> None:
        roll(client, "close", "2026-11")
        url = f"/api/v1/orgs/{B1}/remittances"
        key = {**treasurer(), "Idempotency-Key": "rem-1"}
        first = client.post(url, json={"period": "2026-11"}, headers=key)
        retry = client.post(url, json={"period": "2026-11"}, headers=key)
        later = client.post(url, json={"period": "2026-11"}, headers=treasurer())
        assert (first.status_code, retry.status_code, later.status_code) == (201, 201, 200)
        assert first.json() == retry.json()
        assert first.json()["amount"] > 0 and first.json()["in_transit"] == 0
        assert later.json()["amount"] == 0
        assert later.json()["remitted_before"] == first.json()["amount"]
        balance = client.get(
            f"/api/v1/orgs/{B1}/balance", params={"period": "2026-11"}, headers=treasurer()
        ).json()
        assert balance["remitted_to_parent"] == first.json()["amount"]

    def test_by_bank_to_a_parent_without_an_account_is_409_and_records_nothing(
        self, client: TestClient
    ) -> None:
        roll(client, "close", "2026-11")
        url = f"/api/v1/orgs/{B1}/remittances"
        before = state(client)
        refused = client.post(url, json={"period": "2026-11", "via": "bank"}, headers=treasurer())
        assert "HN-BD" in problem(refused, 409, "account")["detail_en"]
        assert state(client) == before

    def test_bad_ways_and_months_are_refused_naming_the_field(self, client: TestClient) -> None:
        url = f"/api/v1/orgs/{B1}/remittances"
        t = treasurer()
        problem(client.post(url, json={"period": "2026-12", "via": "fax"}, headers=t), 422, "via")
        problem(client.post(url, json={"period": "2026-13"}, headers=t), 422, "period")
        problem(client.post(url, json={}, headers=t), 422, "period")
        problem(client.post(url, json={"period": "2026-12", "amount": 5}, headers=t), 422, "amount")
        problem(
            client.post("/api/v1/orgs/TW/remittances", json={"period": "2026-12"}, headers=admin()),
            409,
            None,
        )


# -- the book --------------------------------------------------------------------------------
class TestTheBook:
    def test_an_xlsx_book_for_a_quarter(self, client: TestClient) -> None:
        got = client.get(
            f"/api/v1/orgs/{B1}/book",
            params={"period": "2026-Q4", "format": "xlsx"},
            headers=auth("auditor", B1),
        )
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == XLSX
        assert got.headers["content-disposition"] == (
            f'attachment; filename="so-dang-phi-{B1}-2026-Q4.xlsx"'
        )
        wb = load_workbook(io.BytesIO(got.content))
        assert wb.sheetnames == ["Phần I", "Phần II"]
        titles = [c.value for c in wb["Phần II"]["B"] if c.value]
        assert "Cộng quý IV/2026" in titles

    def test_a_bad_period_or_format_or_no_figures(self, client: TestClient) -> None:
        url = f"/api/v1/orgs/{B1}/book"
        t = treasurer()
        problem(client.get(url, params={"period": "2026-Q5"}, headers=t), 422, "period")
        problem(client.get(url, headers=t), 422, "period")
        problem(
            client.get(url, params={"period": "2026", "format": "pdf"}, headers=t), 422, "format"
        )
        problem(client.get(url, params={"period": "2020-01"}, headers=t), 404, "period")


class TestAMonthNotOpened:
    def test_a_request_names_the_months_the_branch_has_not_opened(
        self, client: TestClient, frozen: Any
    ) -> None:
        frozen.move_to("2027-02-10 10:00:00+07:00")  # the branch opened 2026-11 and 2026-12 only
        made = client.post("/api/v1/members/M1/payment-requests", json={}, headers=treasurer())
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["months_not_opened"] == ["2027-01"]
        assert "2027-01" not in body["items"][0]["months"]
        roll(client, "open", "2027-01")
        again = client.post("/api/v1/members/M1/payment-requests", json={}, headers=treasurer())
        assert again.json()["months_not_opened"] == []
        assert "2027-01" in again.json()["items"][0]["months"]


class TestAMonthOpenedAhead:
    def test_a_request_runs_to_the_named_month_and_its_hint_names_what_it_covers(
        self, client: TestClient
    ) -> None:
        # 2027-01 opened early (it is 2026-12): counted from this month, a request naming
        # 2027-02 also asked for 2027-03, and its hint named 12/2026 (a newcomer's check)
        roll(client, "open", "2027-01")
        made = client.post(
            "/api/v1/members/M1/payment-requests", json={"months": ["2027-02"]}, headers=treasurer()
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["items"][0]["months"][-2:] == ["2027-01", "2027-02"]
        assert body["hint"] == "DP 01/2027+1"
