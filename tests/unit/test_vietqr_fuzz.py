"""Fuzzing the decoder: whatever it is fed, it decodes or raises VietQRError, nothing else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from payment_gateways.vietqr import (
    Initiation,
    Service,
    VietQRError,
    banks,
    crc16,
    decode,
    encode,
    encode_qr,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VALID = [
    v["payload"]
    for v in json.loads((SHARED / "data" / "vietqr_vectors.json").read_text(encoding="utf-8"))
    if v["crc_ok"] and v["tlv_ok"]
]
TEMPLATES = {"38", "62", "38.01"}  # walked into when finding length fields


def length_fields(text: str, start: int = 0, parent: str = "") -> list[int]:
    """Offsets of every two-digit length field in a well-formed payload, nested ones too."""
    offsets, i = [], 0
    while i + 4 <= len(text):
        tag, length = text[i : i + 2], int(text[i + 2 : i + 4])
        name = f"{parent}.{tag}" if parent else tag
        offsets.append(start + i + 2)
        if name in TEMPLATES:
            offsets += length_fields(text[i + 4 : i + 4 + length], start + i + 4, name)
        i += 4 + length
    return offsets


def decodes_or_refuses(payload: str | bytes) -> None:
    try:
        qr = decode(payload)
    except VietQRError as error:
        assert error.tag and error.message_en and error.message_vi
        return
    if qr.bin in banks():  # what decodes must encode again and mean the same
        again = decode(encode_qr(qr))
        assert replace(again, crc=qr.crc) == qr and again.crc == qr.crc.upper()


@settings(max_examples=400)
@given(st.text())
def test_random_text_decodes_or_raises_only_vietqr_error(text: str) -> None:
    decodes_or_refuses(text)


@settings(max_examples=300)
@given(st.binary())
def test_random_bytes_decode_or_raise_only_vietqr_error(data: bytes) -> None:
    decodes_or_refuses(data)
    decodes_or_refuses(data.decode("latin-1"))


@settings(max_examples=300)
@given(st.text(alphabet="0123456789ABCDEFVNQRIT ", min_size=4, max_size=120))
def test_tlv_shaped_noise_with_a_good_crc_decodes_or_raises_only_vietqr_error(body: str) -> None:
    decodes_or_refuses(body + "6304" + crc16(body + "6304"))


MUTATION = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "length"]),
    st.integers(min_value=0, max_value=10_000),
    st.characters(),
    st.integers(min_value=0, max_value=99),
)


@settings(max_examples=1500)
@given(st.sampled_from(VALID), st.lists(MUTATION, min_size=1, max_size=4), st.booleans())
def test_mutated_vectors_decode_or_raise_only_vietqr_error(
    payload: str, mutations: list[tuple[str, int, str, int]], fix_crc: bool
) -> None:
    lengths = length_fields(payload)
    for kind, at, char, number in mutations:
        i = at % (len(payload) + 1)
        if kind == "flip" and i < len(payload):
            payload = payload[:i] + char + payload[i + 1 :]
        elif kind == "insert":
            payload = payload[:i] + char + payload[i:]
        elif kind == "delete":
            payload = payload[:i] + payload[i + 1 :]
        elif kind == "length" and lengths:
            j = lengths[at % len(lengths)]
            payload = payload[:j] + f"{number:02d}" + payload[j + 2 :]
    if fix_crc and len(payload) > 4:  # get past the CRC to the nested checks
        body = payload[:-4]
        payload = body + (crc16(body) if body.isascii() else payload[-4:])
    decodes_or_refuses(payload)


OPTIONAL_TEXT = st.none() | st.text(max_size=40)


@settings(max_examples=400)
@given(
    bin=st.sampled_from(sorted(banks())) | st.text(max_size=8),
    account=st.text(alphabet="0123456789AZaz -", max_size=22),
    service=st.sampled_from([*Service, "QRIBFTTX"]),
    amount=st.none() | st.integers(min_value=-5, max_value=10**14),
    poi=st.none() | st.sampled_from([*Initiation, "13"]),
    purpose=OPTIONAL_TEXT,
    bill_number=OPTIONAL_TEXT,
    extra=st.lists(st.tuples(st.text(max_size=3), st.text(max_size=30)), max_size=3),
)
def test_encode_returns_a_decodable_payload_or_raises_only_vietqr_error(
    bin: str,
    account: str,
    service: str,
    amount: int | None,
    poi: str | None,
    purpose: str | None,
    bill_number: str | None,
    extra: list[tuple[str, str]],
) -> None:
    try:
        payload = encode(
            bin,
            account,
            service=service,
            amount=amount,
            poi=poi,
            purpose=purpose,
            bill_number=bill_number,
            extra_tags=extra,
        )
    except VietQRError:
        return
    qr = decode(payload)
    assert (qr.bin, qr.account, qr.amount) == (bin, account, amount)
