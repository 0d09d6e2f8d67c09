"""The VietQR codec against the public vectors, and the rules it enforces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from payment_gateways.vietqr import (
    Initiation,
    Problem,
    Service,
    VietQRError,
    crc16,
    decode,
    encode,
    encode_qr,
    fold,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS: list[dict[str, Any]] = json.loads(
    (SHARED / "data" / "vietqr_vectors.json").read_text(encoding="utf-8")
)
VALID = [v for v in VECTORS if v["crc_ok"] and v["tlv_ok"]]
INVALID = [v for v in VECTORS if not (v["crc_ok"] and v["tlv_ok"])]

# Where each negative vector goes wrong, keyed by its last four characters (the
# CRC it claims). A bad CRC is found before the nested templates are read.
EXPECTED_TAG = {
    "F4E5": "38.01",  # NAPAS typo: 38/01 declares 12 for a 13-digit account
    "A203": "63",  # static payload printed with the dynamic CRC
    "BBB5": "63",  # CRC altered
    "6893": "63",  # memo altered, CRC kept
    "95B6": "38.02",  # service code nested inside 38/01, so missing from 38
    "32F8": "62.08",  # UTF-8 memo: not ASCII
    "B682": "63",
    "C7F8": "62",  # 62 length counted in bytes leaves a stray character
    "E6A9": "63",
}


def test_the_shared_vectors_hold_21_valid_and_9_negative_cases() -> None:
    assert (len(VALID), len(INVALID)) == (21, 9)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["payload"][-4:])
def test_every_valid_vector_decodes_to_its_published_fields(vector: dict[str, Any]) -> None:
    fields = vector["fields"]
    qr = decode(vector["payload"])
    assert qr.bin == fields["38.01.00"]
    assert qr.account == fields["38.01.01"]
    assert qr.service == fields["38.02"]
    assert qr.poi == fields["01"]
    assert qr.amount == (int(fields["54"]) if "54" in fields else None)
    assert qr.purpose == fields.get("62.08")
    assert qr.bill_number == fields.get("62.01")
    assert qr.reference_label == fields.get("62.05")
    assert qr.crc == fields["63"]
    assert dict(qr.extra_tags) == {k: v for k, v in fields.items() if k == "80"}


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["payload"][-4:])
def test_every_valid_vector_reencodes_to_the_same_payload(vector: dict[str, Any]) -> None:
    payload = vector["payload"]
    again = encode_qr(decode(payload))
    # one vector writes its CRC in lower case; ours is always upper case
    assert again == payload[:-4] + payload[-4:].upper()
    assert again[-4:] == vector["crc_computed"]


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v["payload"][-4:])
def test_every_negative_vector_is_rejected_naming_the_tag(vector: dict[str, Any]) -> None:
    with pytest.raises(VietQRError) as caught:
        decode(vector["payload"])
    expected = EXPECTED_TAG[vector["payload"][-4:]]
    assert caught.value.tag.startswith(expected)
    assert f"tag {caught.value.tag}" in str(caught.value)
    if not vector["crc_ok"] and expected == "63":
        assert caught.value.problem is Problem.BAD_CRC
        assert vector["crc_computed"] in str(caught.value)


def test_crc_is_ccitt_false_with_the_standard_check_value() -> None:
    assert crc16("123456789") == "29B1"


def test_a_static_transfer_to_an_account_matches_the_napas_example() -> None:
    payload = encode("970403", "0011012345678")
    assert (
        payload == VALID[1]["payload"]
        if False
        else payload
        == (
            "00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA"
            "53037045802VN63049E6F"
        )
    )


def test_a_dynamic_transfer_to_a_card_with_bill_number_matches_the_napas_example() -> None:
    payload = encode(
        "970403",
        "9704031101234567",
        service=Service.TO_CARD,
        amount=180_000,
        purpose="thanh toán đơn hàng",
        bill_number="NPS6869",
    )
    assert payload.endswith("62340107NPS68690819thanh toan don hang6304A203")
    assert decode(payload).poi is Initiation.DYNAMIC


def test_the_memo_is_folded_to_ascii_without_diacritics() -> None:
    qr = decode(encode("970436", "1017595600", amount=200_000, purpose="Đảng phí tháng 3/2026"))
    assert qr.purpose == "Dang phi thang 3/2026"


def test_folding_maps_d_bar_strips_marks_and_drops_what_has_no_ascii_form() -> None:
    assert fold("Đồng chí Nguyễn Văn Đức") == "Dong chi Nguyen Van Duc"
    assert fold("  “Ủng hộ” – lũ lụt\n") == '"Ung ho" - lu lut'
    assert fold("phí 😀 ok") == "phi  ok"
    assert fold("thanh toán đơn hàng tháng 12", limit=25) == "thanh toan don hang thang"


def test_a_memo_longer_than_25_characters_after_folding_is_refused() -> None:
    with pytest.raises(VietQRError) as caught:
        encode("970436", "1017595600", amount=1000, purpose="Đảng phí quý I năm 2026 chi bộ 5")
    assert (caught.value.tag, caught.value.problem) == ("62.08", Problem.TOO_LONG)


def test_a_memo_that_folds_to_nothing_is_refused() -> None:
    with pytest.raises(VietQRError) as caught:
        encode("970436", "1017595600", amount=1000, purpose="😀")
    assert (caught.value.tag, caught.value.problem) == ("62.08", Problem.EMPTY)


@pytest.mark.parametrize(
    ("kwargs", "tag", "problem"),
    [
        ({"bin": "97043"}, "38.01.00", Problem.BAD_VALUE),
        ({"bin": "123456"}, "38.01.00", Problem.UNKNOWN_BANK),
        ({"account": "12345678901234567890"}, "38.01.01", Problem.BAD_VALUE),
        ({"account": "0011-0123"}, "38.01.01", Problem.BAD_VALUE),
        (
            {"account": "970403110123456A", "service": Service.TO_CARD},
            "38.01.01",
            Problem.BAD_VALUE,
        ),
        ({"service": "QRIBFTTX"}, "38.02", Problem.BAD_VALUE),
        ({"amount": 0}, "54", Problem.BAD_AMOUNT),
        ({"amount": -5}, "54", Problem.BAD_AMOUNT),
        ({"amount": 10**13}, "54", Problem.BAD_AMOUNT),
        ({"amount": 1.5}, "54", Problem.BAD_AMOUNT),
        ({"amount": True}, "54", Problem.BAD_AMOUNT),
        ({"poi": Initiation.DYNAMIC}, "54", Problem.MISSING),
        ({"poi": "13"}, "01", Problem.BAD_VALUE),
        ({"bill_number": "hoá đơn"}, "62.01", Problem.NOT_ASCII),
        ({"extra_tags": [("63", "ABCD")]}, "63", Problem.UNEXPECTED),
        ({"extra_tags": [("80", "x"), ("80", "y")]}, "80", Problem.DUPLICATE),
        ({"extra_tags": [("26", "not a template")]}, "26", Problem.BAD_HEADER),
        ({"extra_additional": [("08", "memo twice")]}, "62.08", Problem.UNEXPECTED),
    ],
)
def test_a_request_breaking_the_napas_profile_is_refused_naming_the_tag(
    kwargs: dict[str, Any], tag: str, problem: Problem
) -> None:
    args: dict[str, Any] = {"bin": "970403", "account": "0011012345678", **kwargs}
    with pytest.raises(VietQRError) as caught:
        encode(**args)
    assert (caught.value.tag, caught.value.problem) == (tag, problem)


def test_a_static_qr_may_carry_an_amount_when_asked_for() -> None:
    payload = encode("970415", "113366668888", amount=70001, poi=Initiation.STATIC)
    assert decode(payload).poi is Initiation.STATIC


def test_tags_come_out_in_the_order_asked_for_and_00_stays_first() -> None:
    payload = encode(
        "970415", "113366668888", amount=6000, purpose="tien le", tag_order=["01", "62"]
    )
    assert payload.startswith("00020101021262110807tien le3856")


def test_errors_are_offered_in_vietnamese_and_english() -> None:
    body = VALID[2]["payload"][:-4].replace("5406180000", "5406180.00")
    with pytest.raises(VietQRError) as caught:
        decode(body + crc16(body))
    error = caught.value
    assert error.tag == "54"
    assert error.message_en.startswith("tag 54: is not a positive whole number of đồng")
    assert error.message_vi.startswith("thẻ 54: không phải số tiền nguyên dương")
    assert str(error) == f"{error.message_vi} / {error.message_en}"


def with_crc(body: str) -> str:
    return body + "6304" + crc16(body + "6304")


STATIC_BODY = "000201010211" + "38540010A00000072701240006970423011000999999990208QRIBFTTA"


@pytest.mark.parametrize(
    ("payload", "tag", "problem"),
    [
        ("", "payload", Problem.EMPTY),
        (b"\xff\xfe", "payload", Problem.NOT_ASCII),
        (with_crc(STATIC_BODY + "5802VN"), "53", Problem.MISSING),
        (with_crc(STATIC_BODY + "53037045802US"), "58", Problem.BAD_VALUE),
        (with_crc(STATIC_BODY + "53038405802VN"), "53", Problem.BAD_VALUE),
        (
            with_crc(STATIC_BODY.replace("A000000727", "A000000775") + "53037045802VN"),
            "38.00",
            Problem.WRONG_GUID,
        ),
        (
            with_crc(STATIC_BODY.replace("0208QRIBFTTA", "0208QRIBFTTX") + "53037045802VN"),
            "38.02",
            Problem.BAD_VALUE,
        ),
        (with_crc(STATIC_BODY + "53037045802VN" + "5403abc"), "54", Problem.BAD_AMOUNT),
        (with_crc(STATIC_BODY + "53037045802VN" + "540401000"[:8]), "54", Problem.BAD_AMOUNT),
        (
            with_crc(STATIC_BODY.replace("010211", "010212") + "53037045802VN"),
            "54",
            Problem.MISSING,
        ),
        (
            with_crc(STATIC_BODY + "53037045802VN" + "62300826" + "x" * 26),
            "62.08",
            Problem.TOO_LONG,
        ),
        (with_crc(STATIC_BODY + "53037045802VN5802VN"), "58", Problem.DUPLICATE),
        (with_crc(STATIC_BODY + "53037045802VN") + "0", "63", Problem.TRAILING),
        (with_crc(STATIC_BODY + "53037045802VN") + "0000", "63", Problem.TRAILING),
        (with_crc(STATIC_BODY + "53037045802VN" + "6203080"), "62", Problem.TRUNCATED),
        (with_crc(STATIC_BODY + "53037045802VN" + "5900Xy"), "58", Problem.BAD_HEADER),
        (with_crc(STATIC_BODY + "53037045802VN") + "9901x", "63", Problem.TRAILING),
        (with_crc(STATIC_BODY + "5303704" + "62050805x" + "5802VN"), "62.08", Problem.BAD_LENGTH),
        (STATIC_BODY + "53037045802VN", "63", Problem.MISSING),
        (with_crc("010211000201" + STATIC_BODY[12:] + "53037045802VN"), "00", Problem.MISPLACED),
        (with_crc(STATIC_BODY + "53037045802VN")[:-4] + "12G4", "63", Problem.BAD_VALUE),
    ],
)
def test_a_malformed_payload_is_rejected_with_its_reason(
    payload: str | bytes, tag: str, problem: Problem
) -> None:
    with pytest.raises(VietQRError) as caught:
        decode(payload)
    assert (caught.value.tag, caught.value.problem) == (tag, problem)


def test_something_that_is_not_text_is_rejected_with_the_same_error() -> None:
    with pytest.raises(VietQRError) as caught:
        decode(12345)  # type: ignore[arg-type]
    assert caught.value.problem is Problem.NOT_TEXT


def test_a_payload_given_as_ascii_bytes_decodes_like_the_text() -> None:
    payload = VALID[6]["payload"]
    assert decode(payload.encode("ascii")) == decode(payload)
