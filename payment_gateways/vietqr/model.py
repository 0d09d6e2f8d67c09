"""What a VietQR says: a transfer to one account or card at one bank, maybe with
an amount and a memo. Decoding yields this; encoding takes the same fields."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GUID = "A000000727"  # NAPAS, in tag 38.00
CURRENCY_VND = "704"  # ISO 4217, tag 53
COUNTRY_VN = "VN"  # tag 58
MEMO_LIMIT = 25  # EMVCo: each tag 62 sub-field is at most 25 characters
ACCOUNT_LIMIT = 19
AMOUNT_DIGITS = 13  # EMVCo tag 54 is at most 13 characters


class Service(StrEnum):
    """Tag 38.02: where the money goes."""

    TO_ACCOUNT = "QRIBFTTA"
    TO_CARD = "QRIBFTTC"


class Initiation(StrEnum):
    """Tag 01, point of initiation: a static QR is reused, a dynamic one is for one payment."""

    STATIC = "11"
    DYNAMIC = "12"


# Sub-fields of tag 62 that the model names; others are kept raw in `extra_additional`.
BILL_NUMBER, REFERENCE_LABEL, TERMINAL_LABEL, PURPOSE = "01", "05", "07", "08"


@dataclass(frozen=True, slots=True)
class VietQR:
    """A decoded VietQR payload.

    `amount` is in whole đồng; `purpose` is the memo (62.08). `extra_tags` holds
    root tags the model does not name (e.g. 52, 59, other merchant templates,
    unreserved 80-99) and `extra_additional` other 62 sub-fields, both raw and in
    payload order. `tag_order` is the order root tags appeared in (without 00
    and 63), so `encode` can reproduce the payload exactly.
    """

    bin: str
    account: str
    service: Service
    poi: Initiation
    amount: int | None
    purpose: str | None
    crc: str
    bill_number: str | None = None
    reference_label: str | None = None
    terminal_label: str | None = None
    extra_tags: tuple[tuple[str, str], ...] = ()
    extra_additional: tuple[tuple[str, str], ...] = ()
    tag_order: tuple[str, ...] = ()
