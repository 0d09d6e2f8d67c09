"""Money: integer đồng, rounding once by a policy rule, exact splits.

Rule: amounts are `int` đồng everywhere (in events too, so they serialise as
plain JSON numbers); rates are `Decimal`. A `Decimal` becomes đồng only through
`round_dong`, and a total is divided only by `split_largest_remainder`, whose
parts always add up to the total.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Final

from ledger.errors import InvalidInput

Dong = int

_AMOUNT: Final = re.compile(r"-?(\d+|\d{1,3}(,\d{3})+|\d{1,3}(\.\d{3})+)")
_MODES: Final = {"half_up": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


def round_dong(value: Decimal, unit: int = 1, mode: str = "half_up") -> Dong:
    """Round a Decimal amount to a whole multiple of `unit` đồng by `mode`."""
    if mode not in _MODES:
        raise InvalidInput(f"Cách làm tròn không hợp lệ: {mode}", f"Unknown rounding mode: {mode}")
    if unit < 1:
        raise InvalidInput("Đơn vị làm tròn phải ≥ 1", "Rounding unit must be ≥ 1")
    units = (value / unit).quantize(Decimal(1), rounding=_MODES[mode])
    return int(units) * unit


def split_largest_remainder(total: Dong, weights: list[Decimal] | list[int]) -> list[Dong]:
    """Split `total` in proportion to `weights`; the parts sum to `total` exactly.

    Each part gets the floor of its exact share; the đồng left over go one each
    to the parts with the largest remainders (ties: the earlier part).
    """
    if total < 0:
        return [-p for p in split_largest_remainder(-total, weights)]
    ws = [Decimal(w) for w in weights]
    whole = sum(ws, Decimal(0))
    if whole <= 0 or any(w < 0 for w in ws):
        raise InvalidInput(
            "Tỷ lệ chia không hợp lệ", "Split weights must be ≥ 0 with a positive sum"
        )
    exact = [Decimal(total) * w / whole for w in ws]
    parts = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = total - sum(parts)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split_retained(total: Dong, retained_percent: Decimal) -> tuple[Dong, Dong]:
    """Split collected money into (retained share, share payable to the parent)."""
    retained, payable = split_largest_remainder(
        total, [retained_percent, Decimal(100) - retained_percent]
    )
    return retained, payable


# The largest amount of one line, payment or command: 13 digits, what VietQR's amount field
# (tag 54) carries, about 10,000 billion đồng. Read models keep sums in 64-bit integers:
# this keeps any realistic sum of amounts far below that, and refuses a typo or a hostile
# file before it is recorded (it would otherwise stop every read model catching up).
MAX_DONG = 10**13 - 1
# A member's monthly income (the base dues are a percentage of): at most 10^12 đồng, so
# dues and a year of them stay far inside the same bounds.
MAX_MONTHLY_BASE = 10**12


def too_large(field: str, value: int) -> InvalidInput:
    """The bilingual refusal of an amount over `MAX_DONG`."""
    return InvalidInput(
        f"{field}: số tiền quá lớn ({value:,} đ; tối đa {MAX_DONG:,} đ)",
        f"{field}: amount too large ({value:,} đ; at most {MAX_DONG:,} đ)",
        field=field,
    )


def parse_amount(text: str | int, *, field: str = "amount", allow_zero: bool = False) -> Dong:
    """Parse a user-given amount of đồng: a whole number, `,` or `.` as thousands separators."""
    if isinstance(text, bool):
        raise InvalidInput(f"{field}: không phải số tiền", f"{field}: not an amount", field=field)
    if isinstance(text, int):
        value = text
    else:
        stripped = text.strip()
        # Whole đồng only: plain digits, or thousands grouped by "," or "." (1,234,567 / 1.234.567).
        # "12.5" or "1,5" are refused rather than read as 125 or 15.
        if not _AMOUNT.fullmatch(stripped):
            raise InvalidInput(
                f"{field}: '{text}' không phải số đồng nguyên",
                f"{field}: '{text}' is not a whole number of đồng",
                field=field,
            )
        cleaned = stripped.replace(",", "").replace(".", "")
        if not cleaned.lstrip("-").isdigit():
            raise InvalidInput(
                f"{field}: '{text}' không phải số đồng nguyên",
                f"{field}: '{text}' is not a whole number of đồng",
                field=field,
            )
        value = int(cleaned)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            f"{field}: số tiền phải lớn hơn 0 (nhận {value})",
            f"{field}: amount must be positive (got {value})",
            field=field,
        )
    if value > MAX_DONG:
        raise too_large(field, value)
    return value
