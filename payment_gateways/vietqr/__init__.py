"""VietQR: the NAPAS bank-transfer QR (EMVCo merchant-presented profile).

A pure codec with no ledger imports: `encode` builds a payload, `decode` reads
one strictly, `png`/`svg` draw it, `bank_for_bin` names the bank. Every failure
is a `VietQRError(tag, problem)`. See docs/vietqr.md.
"""

from __future__ import annotations

from .banks import Bank, bank_for_bin, banks
from .codec import decode, encode, encode_qr
from .crc import crc16
from .errors import Problem, VietQRError
from .fold import fold
from .image import png, svg
from .model import Initiation, Service, VietQR

__all__ = [
    "Bank",
    "Initiation",
    "Problem",
    "Service",
    "VietQR",
    "VietQRError",
    "bank_for_bin",
    "banks",
    "crc16",
    "decode",
    "encode",
    "encode_qr",
    "fold",
    "png",
    "svg",
]
