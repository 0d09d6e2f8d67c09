"""A member pays a dues request through each gateway, on an in-memory ledger.

The treasurer of branch HN-BD-01 registers the branch's account at
Vietcombank, opens December 2026 and asks member M0 for the month's 70,000 đ
by VietQR. The money comes back as the gateway's notification, delivered
twice (webhooks retry); the ledger records the transaction once and the
month is paid once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from ledger.app import DuesLedger
from ledger.clock import VIETNAM, FixedClock
from ledger.payment_request import PaymentRequest
from ledger.ports import PaymentGateway
from payment_gateways.gateways import BankList, PortalSimulator, VietQREncoder, gateway_for
from payment_gateways.gateways.payos import sign
from payment_gateways.vietqr import decode
from tests.builders import month_of, small_ledger

PERIOD = "2026-12"
DUES = 70_000
ACCOUNT = "1012345678"
SETTINGS = {
    "DANGPHI_SEPAY_API_KEY": "sepay-key",
    "DANGPHI_CASSO_SECURE_TOKEN": "casso-token",
    "DANGPHI_PAYOS_CHECKSUM_KEY": "payos-key",
    "DANGPHI_PORTAL_SECRET": "portal-secret",
}
Notification = tuple[bytes, dict[str, str]]


def bank_narrative(memo: str) -> str:
    return f"MBVCB.4525077405.{memo}.CT tu 0351000646393 NGUYEN VAN A toi {ACCOUNT}"


def sepay(tx: str, memo: str, amount: int) -> Notification:
    body = {
        "id": int(tx),
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-15 14:02:37",
        "accountNumber": ACCOUNT,
        "code": None,
        "content": bank_narrative(memo),
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 19_077_000,
        "subAccount": None,
        "referenceCode": f"FT{tx}",
    }
    return json.dumps(body).encode(), {"Authorization": "Apikey sepay-key"}


def casso(tx: str, memo: str, amount: int) -> Notification:
    item = {
        "id": int(tx),
        "tid": f"FT{tx}",
        "description": bank_narrative(memo),
        "amount": amount,
        "cusum_balance": 19_147_000,
        "when": "2026-12-15 09:12:44",
        "bank_sub_acc_id": ACCOUNT,
        "corresponsiveName": "NGUYEN VAN A",
        "corresponsiveAccount": "0351000646393",
    }
    return json.dumps({"error": 0, "data": [item]}).encode(), {"secure-token": "casso-token"}


def payos(tx: str, memo: str, amount: int) -> Notification:
    data = {
        "orderCode": int(tx),
        "amount": amount,
        "description": f"CSRTVOJ4Q9 {memo}",
        "accountNumber": ACCOUNT,
        "reference": f"FT{tx}",
        "transactionDateTime": "2026-12-15 10:31:07",
        "currency": "VND",
        "paymentLinkId": f"link{tx}",
        "code": "00",
        "desc": "success",
        "counterAccountName": "NGUYEN VAN A",
    }
    body = {"code": "00", "desc": "success", "data": data, "signature": sign(data, "payos-key")}
    return json.dumps(body).encode(), {}


PORTAL = PortalSimulator("portal-secret")


def portal(tx: str, memo: str, amount: int) -> Notification:
    payload = VietQREncoder().encode_transfer(
        bin_code="970436", account=ACCOUNT, amount=amount, purpose=memo
    )
    body = PORTAL.pay(payload, "Nguyễn Văn A")
    return body, PORTAL.headers(body)


DELIVERIES: dict[str, Callable[[str, str, int], Notification]] = {
    "sepay": sepay,
    "casso": casso,
    "payos": payos,
    "portal": portal,
}


@pytest.fixture
def app() -> Iterator[DuesLedger]:
    app = DuesLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=FixedClock(datetime(2026, 12, 15, 10, 0, tzinfo=VIETNAM)),
    )
    app.qr_encoder = VietQREncoder()
    app.bank_directory = BankList()
    small_ledger(app)
    app.add_account("HN-BD-01", "970436", ACCOUNT, "CHI BO 1", "organisation")
    app.open_month(PERIOD)
    yield app
    app.close()


def deliver(app: DuesLedger, gateway: PaymentGateway, note: Notification) -> list[bool]:
    return [app.record_bank_transaction(f)[1] for f in gateway.parse_notification(*note)]


class TestTheRequest:
    def test_the_member_request_qr_asks_for_the_month_to_the_branch_account(
        self, app: DuesLedger
    ) -> None:
        request: PaymentRequest = app.member_request("M0")

        qr = decode(request.payload)
        assert (qr.bin, qr.account, qr.amount) == ("970436", ACCOUNT, DUES)
        assert qr.purpose == f"{request.code} DP 12/2026"

    @pytest.mark.parametrize("name", ["sepay", "casso", "payos", "portal", "transfer"])
    def test_every_gateway_draws_the_request_qr(self, app: DuesLedger, name: str) -> None:
        request = app.member_request("M0")

        rendered = gateway_for(name, SETTINGS).render(request.payload)

        assert rendered.payload == request.payload and rendered.png.startswith(b"\x89PNG")


class TestTransactionsAreRecordedOnce:
    @pytest.mark.parametrize("name", DELIVERIES)
    def test_a_notification_delivered_twice_is_recorded_once(
        self, app: DuesLedger, name: str
    ) -> None:
        gateway = gateway_for(name, SETTINGS)
        note = DELIVERIES[name]("4001", "CHUYEN TIEN", 50_000)

        assert deliver(app, gateway, note) == [True]
        assert deliver(app, gateway, note) == [False]

    @pytest.mark.parametrize("name", DELIVERIES)
    def test_notifications_out_of_order_are_each_recorded_once(
        self, app: DuesLedger, name: str
    ) -> None:
        gateway, make = gateway_for(name, SETTINGS), DELIVERIES[name]
        first, second = make("5001", "CHUYEN TIEN 1", 10_000), make("5002", "CHUYEN TIEN 2", 20_000)

        created = [deliver(app, gateway, n) for n in (second, first, second, first)]

        assert created == [[True], [True], [False], [False]]


def without_reference(name: str, note: Notification) -> Notification:
    """The same notification with the bank's reference left out (a gateway's retry that
    leaves an optional field out, or sends it only once it knows it)."""
    body = json.loads(note[0])
    if name == "sepay":
        body["referenceCode"] = None
    elif name == "casso":
        del body["data"][0]["tid"]
    else:
        del body["data"]["reference"]
        body["signature"] = sign(body["data"], "payos-key")
    return json.dumps(body).encode(), note[1]


class TestTheSameNotificationWithOrWithoutItsReference:
    """A helper's check: payOS and Casso keyed a notification by the bank's reference when
    it had one and by their own id when not, so the same notification delivered again
    with its reference added or dropped was a second line: the member paid twice, the
    request `received` doubled. Their own id (payOS's payment link, Casso's `id`) now
    names the notification, as SePay's `id` does; the reference stays the reference."""

    @pytest.mark.parametrize("dropped_first", [False, True])
    @pytest.mark.parametrize("name", ["sepay", "casso", "payos"])
    def test_it_is_one_line_and_one_payment(
        self, app: DuesLedger, name: str, dropped_first: bool
    ) -> None:
        request = app.member_request("M0")
        gateway = gateway_for(name, SETTINGS)
        note = DELIVERIES[name]("7001", f"{request.code} DP 12 2026", DUES)
        bare = without_reference(name, note)
        assert [f.reference for f in gateway.parse_notification(*bare)] == [None]
        first, second = (bare, note) if dropped_first else (note, bare)

        assert deliver(app, gateway, first) == [True]
        assert deliver(app, gateway, second) == [False]
        assert deliver(app, gateway, first) == [False]

        assert app.request_status(request.code)["received"] == DUES
        assert app.member_statement("M0")["credit"] == 0
        assert month_of(app, "M0", PERIOD)["outstanding"] == 0


def payos_transfer(note: Notification, reference: str, amount: int, when: str) -> Notification:
    """`note` (payOS) for another transfer to the same payment link."""
    body = json.loads(note[0])
    body["data"].update(reference=reference, amount=amount, transactionDateTime=when)
    body["signature"] = sign(body["data"], "payos-key")
    return json.dumps(body).encode(), note[1]


class TestTwoTransfersToOnePaymentLink:
    """A helper's check of the change above: payOS's id named the link, so a second
    transfer to it (its own bank reference) was taken for a retry of the first and
    dropped, or refused for another amount. Two bank references are two lines."""

    @pytest.mark.parametrize("amounts", [(35_000, 35_000), (30_000, 40_000)])
    def test_they_are_two_lines(self, app: DuesLedger, amounts: tuple[int, int]) -> None:
        gateway = gateway_for("payos", SETTINGS)
        note = payos("7001", "CHUYEN TIEN DANG PHI", amounts[0])
        first = payos_transfer(note, "FT26349000001", amounts[0], "2026-12-15 10:31:07")
        second = payos_transfer(note, "FT26349000002", amounts[1], "2026-12-15 10:40:00")
        assert deliver(app, gateway, first) == [True]
        assert deliver(app, gateway, second) == [True]
        assert deliver(app, gateway, second) == [False]
        assert deliver(app, gateway, first) == [False]
        assert app.account_balances()[f"HN-BD-01:assets:bank:{ACCOUNT}"] == sum(amounts)


class TestAMemberPaysThroughEachGateway:
    @pytest.mark.parametrize("name", DELIVERIES)
    def test_the_month_is_paid_once_though_the_notification_came_twice(
        self, app: DuesLedger, name: str
    ) -> None:
        request = app.member_request("M0")
        gateway = gateway_for(name, SETTINGS)
        note = DELIVERIES[name]("6001", f"{request.code} DP 12 2026", DUES)

        assert deliver(app, gateway, note) == [True]
        assert deliver(app, gateway, note) == [False]

        month = month_of(app, "M0", PERIOD)
        assert (month["paid"], month["outstanding"]) == (DUES, 0)
        assert app.request_status(request.code)["received"] == DUES
        assert app.member_statement("M0")["credit"] == 0


class TestOneTransferReportedByTwoGateways:
    """A helper's check: an account watched by two gateways (SePay and Casso, during a
    move from one to the other) hears of each transfer twice. When both gave the bank's
    reference the two were one line; when one left it out, they were two lines and the
    member paid twice (the request received 140,000 đ, 70,000 đ of it credit). The line
    without the reference is now taken as the other gateway's line of the same account,
    day, direction and amount whose memo holds its memo (or the other way round), once."""

    @pytest.mark.parametrize("bare_first", [False, True])
    @pytest.mark.parametrize(
        ("referenced", "unreferenced"), [("sepay", "casso"), ("casso", "sepay")]
    )
    def test_it_is_one_line_and_one_payment(
        self, app: DuesLedger, referenced: str, unreferenced: str, bare_first: bool
    ) -> None:
        request = app.member_request("M0")
        memo = f"{request.code} DP 12 2026"
        with_reference = (
            gateway_for(referenced, SETTINGS),
            DELIVERIES[referenced]("7101", memo, DUES),
        )
        bare = (
            gateway_for(unreferenced, SETTINGS),
            without_reference(unreferenced, DELIVERIES[unreferenced]("7202", memo, DUES)),
        )
        first, second = (bare, with_reference) if bare_first else (with_reference, bare)

        assert deliver(app, *first) == [True]
        assert deliver(app, *second) == [False]
        assert deliver(app, *second) == [False]
        assert deliver(app, *first) == [False]

        assert app.request_status(request.code)["received"] == DUES
        assert app.member_statement("M0")["credit"] == 0
        assert app.account_balances()[f"HN-BD-01:assets:bank:{ACCOUNT}"] == DUES

    @pytest.mark.parametrize("bare_first", [False, True])
    def test_two_transfers_each_heard_by_both_are_two_lines(
        self, app: DuesLedger, bare_first: bool
    ) -> None:
        sepay_gw, casso_gw = gateway_for("sepay", SETTINGS), gateway_for("casso", SETTINGS)
        memo = "DANG PHI THANG 12"
        heard = [
            (sepay_gw, sepay("7301", memo, DUES)),
            (sepay_gw, sepay("7302", memo, DUES)),
            (casso_gw, without_reference("casso", casso("7401", memo, DUES))),
            (casso_gw, without_reference("casso", casso("7402", memo, DUES))),
        ]
        if bare_first:
            heard = heard[2:] + heard[:2]

        created = [deliver(app, *note) for note in heard]

        assert created == [[True], [True], [False], [False]]
        assert app.account_balances()[f"HN-BD-01:assets:bank:{ACCOUNT}"] == 2 * DUES

    @pytest.mark.parametrize("bare_first", [False, True])
    def test_one_gateways_two_transfers_alike_stay_two_lines(
        self, app: DuesLedger, bare_first: bool
    ) -> None:
        # the same gateway's two ids are two transfers, whatever their memos
        gateway = gateway_for("sepay", SETTINGS)
        memo = "DANG PHI THANG 12"
        notes = [sepay("7501", memo, DUES), without_reference("sepay", sepay("7502", memo, DUES))]
        if bare_first:
            notes.reverse()

        assert [deliver(app, gateway, n) for n in notes] == [[True], [True]]
        assert app.account_balances()[f"HN-BD-01:assets:bank:{ACCOUNT}"] == 2 * DUES
