"""payOS webhooks: the `data` object signed with HMAC-SHA256 under the checksum key.

The signature vectors are payOS's own: the example on its "Kiểm tra dữ liệu với
signature" page (payos.vn/docs/tich-hop-webhook/kiem-tra-du-lieu-voi-signature)
and test cases of its official Python SDK (payOSHQ/payos-lib-python,
tests/_crypto/testCases.json, key "test_checksum_key").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.errors import NotificationRejected
from payment_gateways.gateways import PayOSGateway
from payment_gateways.gateways.payos import sign, signature_text

KEY = "1a54716c8f0efb2744fb28b6e38b25da7f67a925d98bc1c18bd8faaecadd7675"
DOCS_DATA: dict[str, Any] = {
    "orderCode": 123,
    "amount": 3000,
    "description": "VQRIO123",
    "accountNumber": "12345678",
    "reference": "TF230204212323",
    "transactionDateTime": "2023-02-04 18:25:00",
    "currency": "VND",
    "paymentLinkId": "124c33293c43417ab7879e14c8d9eb18",
    "code": "00",
    "desc": "Thành công",
    "counterAccountBankId": "",
    "counterAccountBankName": "",
    "counterAccountName": "",
    "counterAccountNumber": "",
    "virtualAccountName": "",
    "virtualAccountNumber": "",
}
DOCS_SIGNATURE = "412e915d2871504ed31be63c8f62a149a4410d34c4c42affc9006ef9917eaa03"


def webhook(data: dict[str, Any], signature: str | None = None, key: str = KEY) -> bytes:
    envelope = {"code": "00", "desc": "success", "success": True, "data": data}
    envelope["signature"] = sign(data, key) if signature is None else signature
    return json.dumps(envelope, ensure_ascii=False).encode()


def dues_payment(**changes: Any) -> dict[str, Any]:
    data = dict(
        DOCS_DATA,
        orderCode=2026120001,
        amount=70000,
        description="CSRTVOJ4Q9 DPK7Q2M9XM DP 12 2026",
        accountNumber="1012345678",
        reference="FT26349555000111",
        transactionDateTime="2026-12-15 10:31:07",
        counterAccountBankId="970436",
        counterAccountBankName="Vietcombank",
        counterAccountName="NGUYEN VAN A",
        counterAccountNumber="0351000646393",
    )
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def parse(raw: bytes) -> list[Any]:
    return PayOSGateway(KEY).parse_notification(raw, {})


class TestTheSignatureAsPayOSComputesIt:
    def test_the_example_on_payos_documentation_verifies(self) -> None:
        assert sign(DOCS_DATA, KEY) == DOCS_SIGNATURE
        [fact] = parse(webhook(DOCS_DATA, DOCS_SIGNATURE))
        assert (fact.external_id, fact.reference, fact.amount) == (
            "124c33293c43417ab7879e14c8d9eb18",
            "TF230204212323",
            3000,
        )

    def test_the_webhook_vector_of_the_official_sdk(self) -> None:
        data = {
            "accountNumber": "0123456789",
            "amount": 20000,
            "description": "thanh toan",
            "reference": "FT-REFERENCE",
            "transactionDateTime": "2025-12-12 09:00:00",
            "virtualAccountNumber": "",
            "counterAccountBankId": "01202001",
            "counterAccountBankName": "",
            "counterAccountName": "NGUYEN VAN A",
            "counterAccountNumber": "9876543210",
            "virtualAccountName": "",
            "currency": "VND",
            "orderCode": 0,
            "paymentLinkId": "payment-link-id",
            "code": "00",
            "desc": "success",
        }
        expected = "302b3becca1672dff99daafae2965f40e48ea3ca39453e4bf37fbcc26807a0e8"
        assert sign(data, "test_checksum_key") == expected

    def test_nulls_and_lists_of_objects_as_the_official_sdk_signs_them(self) -> None:
        link = {
            "id": "payment-link-id",
            "orderCode": 0,
            "amount": 2000,
            "amountPaid": 2000,
            "amountRemaining": 0,
            "status": "PAID",
            "createdAt": "2025-12-12T09:00:00+07:00",
            "transactions": [
                {
                    "accountNumber": "0123456789",
                    "amount": 2000,
                    "counterAccountBankId": "01202001",
                    "counterAccountBankName": None,
                    "counterAccountName": "NGUYEN VAN A",
                    "counterAccountNumber": "9876543210",
                    "description": "TRANSACTION DESCRIPTION",
                    "reference": "FT-REFERENCE",
                    "transactionDateTime": "2025-12-12T09:00:00+07:00",
                    "virtualAccountName": None,
                    "virtualAccountNumber": None,
                }
            ],
            "canceledAt": None,
            "cancellationReason": None,
        }
        expected = "6af5e2c9a28256c140169ed624114b43295915d7b6e2fa6278b17a7c43aadefd"
        assert sign(link, "test_checksum_key") == expected

    def test_the_signed_text_sorts_keys_and_writes_null_as_empty(self) -> None:
        text = signature_text({"b": None, "a": True, "c": "null", "d": [{"y": 1, "x": None}]})

        assert text == 'a=true&b=&c=&d=[{"x":null,"y":1}]'


class TestReadingAPayment:
    def test_a_payment_is_one_incoming_fact_named_by_its_link_with_the_reference(self) -> None:
        [fact] = parse(webhook(dues_payment()))

        # the payment link names the notification with or without the bank's reference
        # (which keys the line when given): tests/unit/test_gateway_ledger.py
        assert (fact.source, fact.external_id, fact.reference) == (
            "payos",
            "124c33293c43417ab7879e14c8d9eb18",
            "FT26349555000111",
        )
        assert (fact.direction, fact.amount, fact.account_number) == ("in", 70_000, "1012345678")
        assert fact.value_date == "2026-12-15T10:31:07"
        assert fact.narrative == "CSRTVOJ4Q9 DPK7Q2M9XM DP 12 2026"
        assert fact.counterparty == "NGUYEN VAN A"

    def test_without_a_reference_the_payment_link_then_the_order_code_is_the_id(self) -> None:
        assert parse(webhook(dues_payment(reference="")))[0].external_id == (
            "124c33293c43417ab7879e14c8d9eb18"
        )
        no_link = dues_payment(reference=..., paymentLinkId=None)
        assert parse(webhook(no_link))[0].external_id == "2026120001"

    def test_a_time_in_utc_is_dated_by_its_day_in_vietnam(self) -> None:
        [fact] = parse(webhook(dues_payment(transactionDateTime="2026-11-30T18:00:00.000Z")))

        assert fact.value_date == "2026-12-01T01:00:00+07:00"

    def test_the_same_webhook_twice_gives_equal_facts(self) -> None:
        raw = webhook(dues_payment())

        assert parse(raw) == parse(raw)

    def test_a_signed_notification_that_is_no_payment_gives_no_fact(self) -> None:
        assert parse(webhook(dues_payment(code="01", desc="Giao dịch thất bại"))) == []

    @pytest.mark.parametrize("success", [False, "false", None, 0])
    def test_a_notification_saying_success_false_gives_no_fact_whatever_its_code(
        self, success: Any
    ) -> None:
        # a helper's check: `success` was not read, so `"code": "00"` beside
        # `"success": false` (a failed payment) paid the member's month
        envelope = json.loads(webhook(dues_payment()))
        envelope["success"] = success

        assert parse(json.dumps(envelope).encode()) == []

    def test_a_notification_without_success_is_read_by_its_code(self) -> None:
        envelope = json.loads(webhook(dues_payment()))
        del envelope["success"]

        assert len(parse(json.dumps(envelope).encode())) == 1

    def test_out_of_order_webhooks_give_the_same_facts(self) -> None:
        a = webhook(dues_payment(reference="FT1"))
        b = webhook(dues_payment(reference="FT2", amount=140000))

        assert set(parse(b) + parse(a)) == set(parse(a) + parse(b))


class TestRefusals:
    def test_a_tampered_amount_fails_the_signature(self) -> None:
        envelope = json.loads(webhook(dues_payment()))
        envelope["data"]["amount"] = 7_000_000

        with pytest.raises(NotificationRejected) as raised:
            parse(json.dumps(envelope).encode())
        assert raised.value.field == "signature"

    def test_a_tampered_signature_is_rejected(self) -> None:
        good = sign(dues_payment(), KEY)
        bad = ("0" if good[0] != "0" else "1") + good[1:]

        with pytest.raises(NotificationRejected):
            parse(webhook(dues_payment(), bad))

    @pytest.mark.parametrize("signature", ["", "not-hex", None, 42])
    def test_a_missing_or_malformed_signature_is_rejected(self, signature: Any) -> None:
        envelope = json.loads(webhook(dues_payment()))
        if signature is None:
            del envelope["signature"]
        else:
            envelope["signature"] = signature

        with pytest.raises(NotificationRejected) as raised:
            parse(json.dumps(envelope).encode())
        assert raised.value.field == "signature"

    def test_a_signature_made_with_another_key_is_rejected(self) -> None:
        with pytest.raises(NotificationRejected):
            parse(webhook(dues_payment(), key="someone-elses-key"))

    def test_an_upper_case_signature_is_the_same_signature(self) -> None:
        assert parse(webhook(dues_payment(), sign(dues_payment(), KEY).upper()))

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount": 0}, "data.amount"),
            ({"amount": -70000}, "data.amount"),
            ({"amount": 70000.5}, "data.amount"),
            ({"amount": "70000"}, "data.amount"),
            ({"accountNumber": ""}, "data.accountNumber"),
            ({"transactionDateTime": "hôm nay"}, "data.transactionDateTime"),
            ({"currency": "USD"}, "data.currency"),
            ({"reference": ..., "paymentLinkId": ..., "orderCode": ...}, "data.reference"),
        ],
    )
    def test_a_signed_but_malformed_payment_is_rejected_by_field(
        self, changes: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(webhook(dues_payment(**changes)))
        assert raised.value.field == field

    @pytest.mark.parametrize("raw", [b"", b"[]", b'{"data": []}', b'{"signature": "ab"}'])
    def test_a_body_without_a_data_object_is_rejected(self, raw: bytes) -> None:
        with pytest.raises(NotificationRejected):
            parse(raw)
