"""The ledger's QR and bank ports, implemented with the VietQR codec.

Rule: a request's memo is `"<CODE> <hint>"`, folded to printable ASCII; when it
is longer than the 25 characters VietQR allows, the hint is cut, never the
code (its first 10 characters), because the code is what reconciliation
searches for. A QR with an amount is dynamic (tag 01 = 12), one without is
static. Bank names come from the packaged bank list; an unknown BIN has none.
"""

from __future__ import annotations

import re
from functools import cached_property

from ledger.errors import InvalidInput
from payment_gateways.vietqr import VietQRError, bank_for_bin, banks, encode, fold
from payment_gateways.vietqr.model import MEMO_LIMIT

from .common import vietqr_input_error

CODE_LENGTH = 10  # `DP` + 7 symbols + 1 check symbol (ledger/reference_code.py)


def memo(purpose: str) -> str | None:
    """The folded memo for a purpose `"<CODE> <hint>"`: at most 25 characters, code kept whole."""
    code, hint = fold(purpose[:CODE_LENGTH]), fold(purpose[CODE_LENGTH:])
    if len(code) > MEMO_LIMIT:  # only a code folding to more than 25 characters ('…' is 3)
        raise InvalidInput(
            f"Mã thanh toán quá dài cho nội dung VietQR: {code!r}",
            f"The payment code is too long for a VietQR memo: {code!r}",
            field="purpose",
        )
    text = f"{code} {hint}" if code and hint else code or hint
    return text[:MEMO_LIMIT].rstrip() or None


class VietQREncoder:
    """`QRPayloadEncoder`: a NAPAS VietQR transfer to an account, with the codec."""

    def encode_transfer(
        self, *, bin_code: str, account: str, amount: int | None, purpose: str
    ) -> str:
        try:
            return encode(bin_code, account, amount=amount, purpose=memo(purpose))
        except VietQRError as e:
            raise vietqr_input_error(e) from e


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(name).lower())


class BankList:
    """`BankDirectory` over the packaged bank list, plus the reverse look-up gateways need."""

    def bank_name(self, bin_code: str) -> str | None:
        try:
            return bank_for_bin(bin_code).short_name
        except VietQRError:
            return None

    def bin_for_name(self, name: str) -> str | None:
        """The BIN of a bank named as gateways name it (`Vietcombank`, `MBBank`, `VCB`, `MB`),
        compared without case, spaces or punctuation; None if unknown or ambiguous."""
        return self._by_name.get(_key(name)) if isinstance(name, str) else None

    @cached_property
    def _by_name(self) -> dict[str, str | None]:
        index: dict[str, str | None] = {}
        for bank in banks().values():
            names = {bank.short_name, bank.code or ""}
            for key in {_key(n) for n in names} - {""}:
                index[key] = bank.bin if index.get(key, bank.bin) == bank.bin else None
        return index
