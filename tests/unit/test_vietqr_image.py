"""VietQR images: what we draw is what qrcode draws, and a real decoder reads it back."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_M

from payment_gateways.vietqr import decode, encode, png, svg
from payment_gateways.vietqr.matrix import symbol

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VALID = [
    v["payload"]
    for v in json.loads((SHARED / "data" / "vietqr_vectors.json").read_text(encoding="utf-8"))
    if v["crc_ok"] and v["tlv_ok"]
]


def read_qr(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def qrcode_rows(payload: str) -> tuple[str, ...]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(payload)
    qr.make(fit=True)
    return tuple("".join("1" if dark else "0" for dark in row) for row in qr.get_matrix())


@pytest.mark.parametrize("payload", VALID, ids=lambda p: p[-4:])
def test_the_png_of_every_valid_vector_scans_back_to_the_payload(payload: str) -> None:
    image = Image.open(io.BytesIO(png(payload)))
    assert image.format == "PNG"
    assert read_qr(image) == [payload]


@pytest.mark.parametrize("payload", VALID, ids=lambda p: p[-4:])
def test_our_modules_are_the_ones_qrcode_draws(payload: str) -> None:
    assert symbol(payload).rows == qrcode_rows(payload)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=600))
def test_our_modules_are_the_ones_qrcode_draws_for_any_ascii_text(payload: str) -> None:
    assert symbol(payload).rows == qrcode_rows(payload)


def test_the_png_is_one_bit_with_a_four_module_white_quiet_zone() -> None:
    payload = VALID[0]
    modules = len(symbol(payload).rows)
    image = Image.open(io.BytesIO(png(payload, box_size=10)))
    assert image.mode == "1"
    assert image.size == ((modules + 8) * 10,) * 2
    assert image.crop((0, 0, image.width, 40)).getextrema() == (255, 255)
    assert image.crop((0, 0, 40, image.height)).getextrema() == (255, 255)
    assert image.getpixel((40, 40)) == 0  # the finder pattern's corner is dark


def test_the_svg_draws_the_same_modules_and_scans_back() -> None:
    payload = VALID[2]
    drawing = svg(payload, box_size=8)
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', drawing).group(1))  # type: ignore[union-attr]
    raster = Image.new("L", (width, width), 255)
    pen = ImageDraw.Draw(raster)
    for x, y, run in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\d+z", drawing):
        pen.rectangle((int(x), int(y), int(x) + int(run) - 1, int(y)), fill=0)
    rows = symbol(payload).rows
    inner = raster.crop((4, 4, width - 4, width - 4))
    assert [
        "".join("1" if inner.getpixel((c, r)) == 0 else "0" for c in range(len(rows)))
        for r in range(len(rows))
    ] == list(rows)
    assert read_qr(raster.resize((width * 8, width * 8), Image.Resampling.NEAREST)) == [payload]


def test_a_dues_payment_qr_survives_drawing_and_scanning() -> None:
    payload = encode("970436", "1017595600", amount=125_000, purpose="Đảng phí T3/2026 DP7K2Q")
    [scanned] = read_qr(Image.open(io.BytesIO(png(payload))))
    qr = decode(scanned)
    assert (qr.bin, qr.account, qr.amount, qr.purpose) == (
        "970436",
        "1017595600",
        125_000,
        "Dang phi T3/2026 DP7K2Q",
    )
