"""CRC-16/CCITT-FALSE, the VietQR (EMVCo) checksum in tag 63.

Polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR, over the
ASCII bytes of everything up to and including `6304`. `binascii.crc_hqx` is
exactly this CRC when seeded with 0xFFFF, and it runs in C.
"""

from __future__ import annotations

from binascii import crc_hqx


def crc16(text: str) -> str:
    """The checksum of `text` (ASCII) as four upper-case hex digits."""
    return f"{crc_hqx(text.encode('ascii'), 0xFFFF):04X}"
