"""The ledger's QR and bank ports, as the VietQR codec implements them."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidInput
from payment_gateways.gateways import BankList, VietQREncoder
from payment_gateways.gateways.encoder import memo
from payment_gateways.vietqr import Initiation, decode

CODE = "DPK7Q2M9XM"  # a valid reference code (check symbol M)


def encoded(amount: int | None, purpose: str) -> str:
    return VietQREncoder().encode_transfer(
        bin_code="970436", account="1012345678", amount=amount, purpose=purpose
    )


class TestTheRequestQR:
    def test_a_request_with_an_amount_is_a_dynamic_qr_to_the_account(self) -> None:
        qr = decode(encoded(70_000, f"{CODE} DP 12/2026"))

        assert (qr.bin, qr.account, qr.amount) == ("970436", "1012345678", 70_000)
        assert qr.poi is Initiation.DYNAMIC
        assert qr.purpose == f"{CODE} DP 12/2026"

    def test_without_an_amount_the_qr_is_static(self) -> None:
        qr = decode(encoded(None, f"{CODE} DP 12/2026"))

        assert qr.poi is Initiation.STATIC and qr.amount is None

    def test_vietnamese_in_the_hint_is_folded_to_ascii(self) -> None:
        assert decode(encoded(70_000, f"{CODE} Đảng phí T12")).purpose == f"{CODE} Dang phi T12"

    def test_a_long_hint_is_cut_to_25_characters_and_the_code_is_kept_whole(self) -> None:
        purpose = f"{CODE} DP 12/2026+3 Nguyễn Văn Anh chi bộ 1"

        text = decode(encoded(280_000, purpose)).purpose

        assert text == "DPK7Q2M9XM DP 12/2026+3 N"  # 25 characters

    def test_a_code_with_no_hint_is_the_whole_memo(self) -> None:
        assert memo(CODE) == CODE
        assert memo("") is None

    def test_a_bad_account_is_refused_as_invalid_input_naming_the_field(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            VietQREncoder().encode_transfer(
                bin_code="970436", account="12-34", amount=1, purpose=CODE
            )
        assert raised.value.field == "account"

    def test_an_unknown_bank_is_refused_as_invalid_input(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            VietQREncoder().encode_transfer(
                bin_code="123456", account="1012345678", amount=1, purpose=CODE
            )
        assert raised.value.field == "bin"
        assert "BIN" in raised.value.message_en


class TestTheBankList:
    def test_a_known_bin_has_the_bank_short_name(self) -> None:
        assert BankList().bank_name("970436") == "Vietcombank"
        assert BankList().bank_name("970422") == "MBBank"

    def test_an_unknown_bin_has_no_name(self) -> None:
        assert BankList().bank_name("999999") is None
        assert BankList().bank_name("abc") is None

    @pytest.mark.parametrize(
        ("name", "bin_code"),
        [
            ("Vietcombank", "970436"),
            ("VCB", "970436"),
            ("MBBank", "970422"),
            ("MB", "970422"),
            ("VietinBank", "970415"),
            ("TPBank", "970423"),
            ("tp bank", "970423"),
            ("Techcombank", "970407"),
        ],
    )
    def test_gateways_name_banks_and_the_list_finds_their_bin(
        self, name: str, bin_code: str
    ) -> None:
        assert BankList().bin_for_name(name) == bin_code

    def test_an_unknown_or_ambiguous_bank_name_has_no_bin(self) -> None:
        assert BankList().bin_for_name("Ngân hàng Mặt Trăng") is None
        assert BankList().bin_for_name("MAFC") is None  # two BINs carry that name
