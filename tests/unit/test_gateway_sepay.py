"""SePay webhooks: one transaction per notification, `Authorization: Apikey <key>`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.errors import NotificationRejected
from payment_gateways.gateways import SePayGateway

KEY = "sepay-3f9c1e0b7a"
AUTH = {"Authorization": f"Apikey {KEY}", "Content-Type": "application/json"}
NARRATIVE = "MBVCB.4525077405.DPK7Q2M9XM DP 12 2026.CT tu 0351000646393 NGUYEN VAN A toi 1012345678"


def notification(**changes: Any) -> dict[str, Any]:
    body = {
        "id": 92704,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-15 14:02:37",
        "accountNumber": "1012345678",
        "code": "DPK7Q2M9XM",
        "content": NARRATIVE,
        "transferType": "in",
        "transferAmount": 70000,
        "accumulated": 19077000,
        "subAccount": None,
        "referenceCode": "FT26349812345678",
        "description": "BankAPINotify " + NARRATIVE,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def parse(body: dict[str, Any], headers: dict[str, str] = AUTH) -> list[Any]:
    return SePayGateway(KEY).parse_notification(json.dumps(body).encode(), headers)


class TestReadingATransfer:
    def test_a_transfer_in_becomes_one_fact_keyed_by_sepay_id(self) -> None:
        [fact] = parse(notification())

        assert fact.source == "sepay" and fact.external_id == "92704"
        assert (fact.direction, fact.amount) == ("in", 70_000)
        assert (fact.bin_code, fact.account_number) == ("970436", "1012345678")
        assert fact.value_date == "2026-12-15T14:02:37"
        assert fact.narrative == NARRATIVE
        assert fact.reference == "FT26349812345678"

    def test_a_transfer_out_is_read_as_outgoing_with_a_positive_amount(self) -> None:
        [fact] = parse(notification(transferType="out", transferAmount=500000))

        assert (fact.direction, fact.amount) == ("out", 500_000)

    def test_the_bank_name_gives_the_bin_and_an_unknown_bank_gives_none(self) -> None:
        assert parse(notification(gateway="MBBank"))[0].bin_code == "970422"
        assert parse(notification(gateway="Ngân hàng Lạ"))[0].bin_code is None

    def test_without_content_the_description_is_the_narrative(self) -> None:
        [fact] = parse(notification(content="", description="IBFT DPK7Q2M9XM DP 12 2026"))

        assert fact.narrative == "IBFT DPK7Q2M9XM DP 12 2026"

    def test_control_characters_in_the_memo_become_spaces(self) -> None:
        [fact] = parse(notification(content="DPK7Q2M9XM\tDP 12\x002026\n"))

        assert fact.narrative == "DPK7Q2M9XM DP 12 2026"

    @pytest.mark.parametrize(
        ("given", "value_date"),
        [
            ("2026-11-30T17:30:00Z", "2026-12-01T00:30:00+07:00"),
            ("2026-11-30T17:30:00+00:00", "2026-12-01T00:30:00+07:00"),
            ("2026-12-01T08:15:00+09:00", "2026-12-01T06:15:00+07:00"),
            ("2026-12-01T00:30:00+07:00", "2026-12-01T00:30:00+07:00"),
            ("2026-12-01 00:30:00", "2026-12-01T00:30:00"),
        ],
    )
    def test_a_time_with_an_offset_is_dated_by_its_day_in_vietnam(
        self, given: str, value_date: str
    ) -> None:
        # a helper's check: the offset was kept, so a transfer at 00:30 on 1 December in
        # Hanoi sent as 17:30Z was filed on 30 November, in the month before
        [fact] = parse(notification(transactionDate=given))

        assert fact.value_date == value_date

    @pytest.mark.parametrize("given", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-05:00"])
    def test_a_time_with_no_vietnam_day_is_refused_by_name(self, given: str) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(notification(transactionDate=given))
        assert raised.value.field == "transactionDate"

    def test_the_header_name_and_scheme_are_read_without_case(self) -> None:
        assert parse(notification(), {"authorization": f"apikey {KEY}"})


class TestRetries:
    def test_the_same_notification_twice_gives_equal_facts(self) -> None:
        body = json.dumps(notification()).encode()
        gateway = SePayGateway(KEY)

        assert gateway.parse_notification(body, AUTH) == gateway.parse_notification(body, AUTH)

    def test_a_retry_with_the_same_id_is_the_same_fact_even_if_reformatted(self) -> None:
        first = parse(notification())
        retried = SePayGateway(KEY).parse_notification(
            json.dumps(notification(), indent=2, sort_keys=True).encode(), AUTH
        )
        assert first == retried

    def test_notifications_out_of_order_give_the_same_facts_as_in_order(self) -> None:
        bodies = [notification(id=i, transferAmount=1000 * i) for i in (1, 2, 3)]

        in_order = [parse(b)[0] for b in bodies]
        shuffled = [parse(b)[0] for b in (bodies[2], bodies[0], bodies[1], bodies[2])]

        assert set(shuffled) == set(in_order)


class TestRefusals:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Apikey wrong-key"},
            {"Authorization": f"Bearer {KEY}"},
            {"Authorization": KEY},
            {"Authorization": "Apikey "},
        ],
    )
    def test_a_wrong_or_missing_api_key_is_rejected(self, headers: dict[str, str]) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(notification(), headers)
        assert raised.value.field == "Authorization"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"id": ...}, "id"),
            ({"transferAmount": ...}, "transferAmount"),
            ({"transferAmount": 0}, "transferAmount"),
            ({"transferAmount": -70000}, "transferAmount"),
            ({"transferAmount": 70000.5}, "transferAmount"),
            ({"transferAmount": "70000"}, "transferAmount"),
            ({"transferAmount": True}, "transferAmount"),
            ({"transferType": "sideways"}, "transferType"),
            ({"accountNumber": ""}, "accountNumber"),
            ({"transactionDate": "15/12/2026"}, "transactionDate"),
            ({"content": ..., "description": ...}, "content"),
            ({"content": 42}, "content"),
        ],
    )
    def test_a_missing_or_malformed_field_is_rejected_by_name(
        self, changes: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(notification(**changes))
        assert raised.value.field == field
        assert field in raised.value.message_en and field in raised.value.message_vi

    def test_an_amount_over_13_digits_is_refused_as_too_large(self) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(notification(transferAmount=10**13))
        assert "too large" in raised.value.message_en and "quá lớn" in raised.value.message_vi

    @pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"id": NaN}'])
    def test_a_body_that_is_not_a_json_object_is_rejected(self, body: bytes) -> None:
        with pytest.raises(NotificationRejected):
            SePayGateway(KEY).parse_notification(body, AUTH)
