"""Fuzzing every gateway: whatever arrives, a parse gives sound facts or NotificationRejected.

Each gateway is fed random bytes, random JSON, and objects shaped like its
webhook with random values, all with valid authentication (payOS and the
portal are signed properly), so the reading goes as deep as it can.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import NotificationRejected
from ledger.ports import BankTransactionFact, PaymentGateway
from payment_gateways.gateways import (
    CassoGateway,
    PayOSGateway,
    PortalGateway,
    PortalSimulator,
    SePayGateway,
    TransferGateway,
)
from payment_gateways.gateways.payos import sign
from payment_gateways.gateways.portal import SIGNATURE_HEADER, canonical

FIELDS = {
    "sepay": "id gateway transactionDate accountNumber code content transferType transferAmount "
    "accumulated subAccount referenceCode description",
    "casso": "id tid description amount cusum_balance when bank_sub_acc_id bankSubAccId subAccId "
    "corresponsiveName corresponsiveAccount",
    "payos": "orderCode amount description accountNumber reference transactionDateTime currency "
    "paymentLinkId code desc counterAccountName counterAccountNumber",
    "portal": "transactionId paidAt bin accountNumber amount currency narrative payerName status",
}
TRICKY = [
    "",
    " ",
    "in",
    "out",
    "00",
    "VND",
    "SUCCESS",
    "970436",
    "Vietcombank",
    "2026-12-15 09:12:44",
    "2026-02-30 10:00:00",
    "MBVCB.4525077405.DPK7Q2M9XM DP 12 2026",
    "\ud800",
    "\x00",
    "null",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, 1, -1, 70_000, -70_000, 10**13, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(TRICKY)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def shaped(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={k: json_values for k in FIELDS[name].split()})


def encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def sound(gateway: PaymentGateway, body: bytes, headers: Mapping[str, str]) -> None:
    try:
        facts = gateway.parse_notification(body, headers)
    except NotificationRejected as rejected:
        assert rejected.message_vi and rejected.message_en
        return
    for fact in facts:
        assert isinstance(fact, BankTransactionFact) and fact.source == gateway.name
        assert fact.direction in ("in", "out") and type(fact.amount) is int and fact.amount > 0
        assert fact.external_id and fact.account_number and fact.value_date
        assert "\x00" not in fact.narrative + fact.external_id + fact.account_number
        json.dumps(fact.as_dict(), ensure_ascii=False).encode("utf-8")  # storable text


SEPAY = (SePayGateway("k"), {"Authorization": "Apikey k"})
CASSO = (CassoGateway("t"), {"secure-token": "t"})
NO_HEADERS: dict[str, str] = {}
PAYOS = (PayOSGateway("c"), NO_HEADERS)
PORTAL = (PortalGateway("s"), NO_HEADERS)
ALL: list[tuple[PaymentGateway, dict[str, str]]] = [
    SEPAY,
    CASSO,
    PAYOS,
    PORTAL,
    (TransferGateway(), {}),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(("gateway", "headers"), ALL, ids=lambda g: getattr(g, "name", ""))
@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(encoded))
def test_random_bytes_and_json_are_read_or_rejected(
    gateway: PaymentGateway, headers: dict[str, str], body: bytes
) -> None:
    sound(gateway, body, headers)


@FUZZ
@given(item=shaped("sepay"))
def test_sepay_shaped_notifications_are_read_or_rejected(item: dict[str, Any]) -> None:
    sound(SEPAY[0], encoded(item), SEPAY[1])


@FUZZ
@given(items=st.lists(shaped("casso"), max_size=3), error=st.sampled_from([0, 0, 1, None]))
def test_casso_shaped_batches_are_read_or_rejected(items: list[Any], error: Any) -> None:
    sound(CASSO[0], encoded({"error": error, "data": items}), CASSO[1])


@FUZZ
@given(data=shaped("payos"))
def test_signed_payos_shaped_notifications_are_read_or_rejected(data: dict[str, Any]) -> None:
    try:
        signature: Any = sign(data, "c")
    except (ValueError, RecursionError):
        signature = None
    sound(PAYOS[0], encoded({"code": "00", "data": data, "signature": signature}), {})


@FUZZ
@given(notification=shaped("portal"))
def test_signed_portal_shaped_notifications_are_read_or_rejected(
    notification: dict[str, Any],
) -> None:
    body = encoded(notification)
    try:
        headers = {SIGNATURE_HEADER: PortalSimulator("s").sign(body)}
    except (ValueError, RecursionError):
        headers = {}
    sound(PORTAL[0], body, headers)


def test_a_lone_surrogate_in_a_text_field_is_rejected() -> None:
    notification = {
        "id": 1,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-15 09:12:44",
        "accountNumber": "1012345678",
        "content": "DPK7Q2M9XM \ud800",
        "transferType": "in",
        "transferAmount": 70_000,
    }
    body = json.dumps(notification).encode()  # the surrogate travels as an ASCII escape

    with pytest.raises(NotificationRejected) as raised:
        SEPAY[0].parse_notification(body, SEPAY[1])
    assert raised.value.field == "content"


def test_deeply_nested_json_is_rejected_not_crashed() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    for gateway, headers in ALL:
        with pytest.raises(NotificationRejected):
            gateway.parse_notification(body, headers)


def test_a_body_over_a_megabyte_is_rejected() -> None:
    with pytest.raises(NotificationRejected):
        SEPAY[0].parse_notification(b" " * 1_000_001, SEPAY[1])


def test_canonical_json_keeps_vietnamese_as_utf8() -> None:
    assert canonical({"b": "Đảng phí", "a": 1}) == '{"a":1,"b":"Đảng phí"}'
