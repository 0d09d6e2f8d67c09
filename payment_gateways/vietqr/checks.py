"""Rules that encoding and decoding share: what a BIN, an account, an amount
and a caller-supplied data object may look like (NAPAS VietQR profile)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .errors import Problem, VietQRError
from .fold import is_printable_ascii
from .model import ACCOUNT_LIMIT, AMOUNT_DIGITS, MEMO_LIMIT, Service
from .tlv import TAG_IDS, TEMPLATES, parse, tlv

SHORT_62 = frozenset(f"{n:02d}" for n in range(1, 10))  # EMVCo: at most 25 characters each


def check_bin(bin: object) -> None:
    if not (isinstance(bin, str) and len(bin) == 6 and bin.isascii() and bin.isdigit()):
        raise VietQRError("38.01.00", Problem.BAD_VALUE, f"{bin!r} is not 6 digits")


def check_account(account: object, service: Service) -> None:
    ok = (
        isinstance(account, str)
        and 0 < len(account) <= ACCOUNT_LIMIT
        and account.isascii()
        and (account.isdigit() if service is Service.TO_CARD else account.isalnum())
    )
    if not ok:
        kind = "digits" if service is Service.TO_CARD else "letters or digits"
        raise VietQRError("38.01.01", Problem.BAD_VALUE, f"{account!r} is not 1-19 {kind}")


def amount_text(amount: object) -> str:
    if type(amount) is not int or not 0 < amount < 10**AMOUNT_DIGITS:
        raise VietQRError("54", Problem.BAD_AMOUNT, repr(amount))
    return str(amount)


def caller_fields(
    parent: str, fields: Sequence[tuple[str, str]], reserved: Collection[str]
) -> list[tuple[str, str]]:
    """Validated (tag, TLV text) pairs for caller-supplied data objects."""
    out: list[tuple[str, str]] = []
    for tag, value in fields:
        name = f"{parent}.{tag}" if parent else str(tag)
        if not isinstance(tag, str) or tag not in TAG_IDS or tag in reserved:
            raise VietQRError(name, Problem.UNEXPECTED, "reserved or not a two-digit id")
        if any(tag == t for t, _ in out):
            raise VietQRError(name, Problem.DUPLICATE)
        limit = MEMO_LIMIT if parent == "62" and tag in SHORT_62 else 99
        if not isinstance(value, str):
            raise VietQRError(name, Problem.NOT_TEXT, type(value).__name__)
        if not value:
            raise VietQRError(name, Problem.EMPTY)
        if not is_printable_ascii(value):
            raise VietQRError(name, Problem.NOT_ASCII, repr(value))
        if len(value) > limit:
            raise VietQRError(name, Problem.TOO_LONG, f"{len(value)} > {limit}: {value!r}")
        if not parent and tag in TEMPLATES:
            parse(value, tag)
        out.append((tag, tlv(tag, value)))
    return out
