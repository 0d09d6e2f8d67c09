"""Casso webhooks (v1): a batch of transactions, `secure-token` header, signed amounts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.errors import NotificationRejected
from payment_gateways.gateways import CassoGateway

TOKEN = "casso-secure-7d2b"
AUTH = {"secure-token": TOKEN, "Content-Type": "application/json"}


def item(**changes: Any) -> dict[str, Any]:
    data = {
        "id": 1482003,
        "tid": "FT26349123456789",
        "description": "MBVCB.4525077405.DPK7Q2M9XM DP 12 2026.CT tu 0351000646393 "
        "NGUYEN VAN A toi 1012345678",
        "amount": 70000,
        "cusum_balance": 19147000,
        "when": "2026-12-15 09:12:44",
        "bank_sub_acc_id": "1012345678",
        "subAccId": "1012345678",
        "virtualAccount": "",
        "corresponsiveName": "NGUYEN VAN A",
        "corresponsiveAccount": "0351000646393",
        "corresponsiveBankId": "970436",
        "corresponsiveBankName": "Vietcombank",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def body(*items: dict[str, Any], error: int = 0) -> bytes:
    return json.dumps({"error": error, "data": list(items)}).encode()


def parse(raw: bytes, headers: dict[str, str] = AUTH) -> list[Any]:
    return CassoGateway(TOKEN).parse_notification(raw, headers)


class TestReadingABatch:
    def test_each_item_is_one_fact_named_by_cassos_id_with_the_bank_reference(self) -> None:
        [fact] = parse(body(item()))

        # Casso's id names the notification with or without `tid` (the bank's reference,
        # which keys the line when given): the same item sent again without it is the
        # same line (tests/unit/test_gateway_ledger.py)
        assert (fact.source, fact.external_id) == ("casso", "1482003")
        assert fact.reference == "FT26349123456789"
        assert (fact.direction, fact.amount) == ("in", 70_000)
        assert (fact.bin_code, fact.account_number) == (None, "1012345678")
        assert fact.value_date == "2026-12-15T09:12:44"
        assert fact.counterparty == "NGUYEN VAN A"
        assert "DPK7Q2M9XM" in fact.narrative

    def test_a_negative_amount_is_money_going_out(self) -> None:
        [fact] = parse(body(item(amount=-250000, description="CHI TIEN MUA VPP")))

        assert (fact.direction, fact.amount) == ("out", 250_000)

    def test_without_a_tid_casso_own_id_is_the_external_id(self) -> None:
        assert parse(body(item(tid="")))[0].external_id == "1482003"
        assert parse(body(item(tid=...)))[0].external_id == "1482003"

    def test_the_later_bank_sub_account_spelling_is_read_too(self) -> None:
        [fact] = parse(body(item(bank_sub_acc_id=..., subAccId=..., bankSubAccId="0071000123")))

        assert fact.account_number == "0071000123"

    def test_a_time_in_utc_is_dated_by_its_day_in_vietnam(self) -> None:
        [fact] = parse(body(item(when="2026-12-31T17:05:00Z")))

        assert fact.value_date == "2027-01-01T00:05:00+07:00"

    def test_a_batch_gives_one_fact_per_item_in_order(self) -> None:
        facts = parse(body(item(id=1, tid="A1", amount=70000), item(id=2, tid="A2", amount=-5000)))

        assert [(f.external_id, f.reference, f.direction) for f in facts] == [
            ("1", "A1", "in"),
            ("2", "A2", "out"),
        ]

    def test_an_empty_batch_gives_no_facts(self) -> None:
        assert parse(body()) == []


class TestDuplicatesAndOrder:
    def test_the_same_batch_twice_gives_equal_facts(self) -> None:
        raw = body(item(tid="A1"), item(tid="A2"))

        assert parse(raw) == parse(raw)

    def test_a_transaction_repeated_in_a_later_batch_is_the_same_fact(self) -> None:
        first = parse(body(item(tid="A1"), item(tid="A2")))
        later = parse(body(item(tid="A3"), item(tid="A2")))

        assert first[1] == later[1]

    def test_batches_out_of_order_give_the_same_facts(self) -> None:
        a, b = body(item(tid="A1")), body(item(tid="A2", amount=-1000))

        assert set(parse(b) + parse(a)) == set(parse(a) + parse(b))


class TestRefusals:
    @pytest.mark.parametrize(
        "headers", [{}, {"secure-token": "wrong"}, {"Secure-Token": ""}, {"Authorization": TOKEN}]
    )
    def test_a_wrong_or_missing_secure_token_is_rejected(self, headers: dict[str, str]) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(body(item()), headers)
        assert raised.value.field == "secure-token"

    def test_the_token_header_name_is_read_without_case(self) -> None:
        assert parse(body(item()), {"Secure-Token": TOKEN})

    def test_one_bad_item_rejects_the_whole_batch(self) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(body(item(tid="A1"), item(tid="A2", amount="70.000")))
        assert raised.value.field == "data[1].amount"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount": 0}, "data[0].amount"),
            ({"amount": 1.5}, "data[0].amount"),
            ({"amount": ...}, "data[0].amount"),
            ({"when": "yesterday"}, "data[0].when"),
            ({"tid": ..., "id": ...}, "data[0].id"),
            ({"bank_sub_acc_id": ..., "subAccId": ""}, "data[0].bank_sub_acc_id"),
            ({"description": ...}, "data[0].description"),
        ],
    )
    def test_a_malformed_item_is_rejected_naming_the_field(
        self, changes: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(body(item(**changes)))
        assert raised.value.field == field

    def test_an_error_from_casso_is_rejected(self) -> None:
        with pytest.raises(NotificationRejected) as raised:
            parse(body(item(), error=1))
        assert raised.value.field == "error"

    @pytest.mark.parametrize(
        "raw", [b"{}", b'{"error": 0, "data": {"id": 1}}', b'{"error":0,"data":[7]}', b"{"]
    )
    def test_a_body_not_shaped_like_a_v1_webhook_is_rejected(self, raw: bytes) -> None:
        with pytest.raises(NotificationRejected):
            parse(raw)
