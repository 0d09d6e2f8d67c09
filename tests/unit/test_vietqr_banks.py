"""Bank BINs: the packaged list is the shared one, and lookups name the bank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payment_gateways.vietqr import Problem, VietQRError, bank_for_bin, banks

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def test_the_packaged_bank_list_equals_the_shared_one() -> None:
    shared = json.loads((SHARED / "data" / "vietqr_banks.json").read_text(encoding="utf-8"))
    packaged = ROOT / "payment_gateways" / "vietqr" / "banks.json"
    assert json.loads(packaged.read_text(encoding="utf-8")) == shared


def test_a_known_bin_names_its_bank() -> None:
    bank = bank_for_bin("970436")
    assert (bank.short_name, bank.code, bank.name) == (
        "Vietcombank",
        "VCB",
        "Ngân hàng TMCP Ngoại Thương Việt Nam",
    )


def test_a_wallet_without_a_vietqr_io_code_is_still_known() -> None:
    assert bank_for_bin("971025").short_name == "MoMo"
    assert bank_for_bin("971025").code is None


@pytest.mark.parametrize("bin", ["999999", "97043", "", "VCB"])
def test_an_unknown_bin_is_refused_with_a_vietqr_error(bin: str) -> None:
    with pytest.raises(VietQRError) as caught:
        bank_for_bin(bin)
    assert (caught.value.tag, caught.value.problem) == ("38.01.00", Problem.UNKNOWN_BANK)


def test_every_listed_bin_is_six_digits() -> None:
    assert all(len(b) == 6 and b.isdigit() for b in banks())
