"""The National Public Service Portal (simulated): pay a VietQR, get a signed notification."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.errors import InvalidInput, NotificationRejected
from payment_gateways.gateways import PortalGateway, PortalSimulator, VietQREncoder
from payment_gateways.gateways.portal import SIGNATURE_HEADER, canonical

SECRET = "portal-shared-secret"
ICT = timezone(timedelta(hours=7))
PAYLOAD = VietQREncoder().encode_transfer(
    bin_code="970436", account="1012345678", amount=70_000, purpose="DPK7Q2M9XM DP 12/2026"
)
STATIC = VietQREncoder().encode_transfer(
    bin_code="970436", account="1012345678", amount=None, purpose="DPK7Q2M9XM"
)


def portal() -> PortalSimulator:
    return PortalSimulator(SECRET, clock=lambda: datetime(2026, 12, 15, 10, 5, 9, tzinfo=ICT))


class TestPayingThroughThePortal:
    def test_paying_a_request_notifies_its_account_amount_and_memo(self) -> None:
        sim = portal()
        body = sim.pay(PAYLOAD, "Nguyễn Văn A")

        [fact] = PortalGateway(SECRET).parse_notification(body, sim.headers(body))

        assert (fact.source, fact.direction, fact.amount) == ("portal", "in", 70_000)
        assert (fact.bin_code, fact.account_number) == ("970436", "1012345678")
        assert fact.narrative == "DVCQG DPK7Q2M9XM DP 12/2026 NGUYEN VAN A"
        assert fact.counterparty == "Nguyễn Văn A"
        assert fact.value_date == "2026-12-15T10:05:09+07:00"

    def test_a_payer_may_pay_another_amount(self) -> None:
        sim = portal()
        body = sim.pay(PAYLOAD, "Trần Thị B", amount=210_000)

        assert PortalGateway(SECRET).parse_notification(body, sim.headers(body))[0].amount == (
            210_000
        )

    def test_a_static_qr_needs_the_amount_from_the_payer(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            portal().pay(STATIC, "Nguyễn Văn A")
        assert raised.value.field == "amount"
        assert json.loads(portal().pay(STATIC, "Nguyễn Văn A", amount=70_000))["amount"] == 70_000

    def test_a_payload_that_is_not_a_vietqr_cannot_be_paid(self) -> None:
        with pytest.raises(InvalidInput):
            portal().pay("000201" + "garbage", "Nguyễn Văn A")

    def test_each_payment_has_its_own_transaction_id(self) -> None:
        sim = portal()
        ids = {json.loads(sim.pay(PAYLOAD, "A"))["transactionId"] for _ in range(50)}

        assert len(ids) == 50

    def test_the_body_is_canonical_json_and_the_header_its_hmac(self) -> None:
        sim = portal()
        body = sim.pay(PAYLOAD, "Nguyễn Văn A")

        assert body == canonical(json.loads(body)).encode()
        assert len(sim.headers(body)[SIGNATURE_HEADER]) == 64


class TestReplays:
    def test_a_notification_replayed_has_the_same_external_id(self) -> None:
        sim, gateway = portal(), PortalGateway(SECRET)
        body = sim.pay(PAYLOAD, "Nguyễn Văn A")

        first = gateway.parse_notification(body, sim.headers(body))
        again = gateway.parse_notification(body, sim.headers(body))

        assert first == again and first[0].external_id == again[0].external_id

    def test_a_reformatted_body_still_verifies_because_the_signature_is_over_canonical_json(
        self,
    ) -> None:
        sim = portal()
        body = sim.pay(PAYLOAD, "Nguyễn Văn A")
        pretty = json.dumps(json.loads(body), indent=2).encode()

        assert PortalGateway(SECRET).parse_notification(pretty, sim.headers(body))


class TestRefusals:
    def test_a_tampered_amount_is_rejected(self) -> None:
        sim = portal()
        body = sim.pay(PAYLOAD, "Nguyễn Văn A")
        forged = dict(json.loads(body), amount=7_000_000)

        with pytest.raises(NotificationRejected) as raised:
            PortalGateway(SECRET).parse_notification(canonical(forged).encode(), sim.headers(body))
        assert raised.value.field == SIGNATURE_HEADER

    @pytest.mark.parametrize("headers", [{}, {SIGNATURE_HEADER: ""}, {SIGNATURE_HEADER: "ab"}])
    def test_a_missing_or_wrong_signature_is_rejected(self, headers: dict[str, str]) -> None:
        with pytest.raises(NotificationRejected):
            PortalGateway(SECRET).parse_notification(portal().pay(PAYLOAD, "A"), headers)

    def test_a_notification_signed_with_another_secret_is_rejected(self) -> None:
        other = PortalSimulator("not-the-secret")
        body = other.pay(PAYLOAD, "A")

        with pytest.raises(NotificationRejected):
            PortalGateway(SECRET).parse_notification(body, other.headers(body))

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount": -1}, "amount"),
            ({"amount": "70000"}, "amount"),
            ({"bin": "97043"}, "bin"),
            ({"transactionId": ""}, "transactionId"),
            ({"paidAt": "15/12/2026"}, "paidAt"),
        ],
    )
    def test_a_signed_but_malformed_notification_is_rejected_by_field(
        self, changes: dict[str, object], field: str
    ) -> None:
        forged = canonical(dict(json.loads(portal().pay(PAYLOAD, "A")), **changes)).encode()
        headers = PortalSimulator(SECRET).headers(forged)

        with pytest.raises(NotificationRejected) as raised:
            PortalGateway(SECRET).parse_notification(forged, headers)
        assert raised.value.field == field

    def test_a_failed_portal_payment_gives_no_fact(self) -> None:
        failed = canonical(dict(json.loads(portal().pay(PAYLOAD, "A")), status="FAILED")).encode()

        assert PortalGateway(SECRET).parse_notification(failed, portal().headers(failed)) == []
