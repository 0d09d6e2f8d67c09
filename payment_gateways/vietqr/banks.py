"""Bank BINs (the 6-digit NAPAS acquirer id in tag 38.01.00) and who they are.

`banks.json` is a copy of `shared/data/vietqr_banks.json`, kept in the package
so an installed wheel works without the shared folder; a test checks the two
are equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from .errors import Problem, VietQRError


@dataclass(frozen=True, slots=True)
class Bank:
    """One bank or wallet known to NAPAS. `name` and `code` are missing for a few."""

    bin: str
    short_name: str
    name: str | None
    code: str | None  # the vietqr.io code, e.g. "VCB"
    swift: str | None
    napas_status: str | None  # "TRANSFER_SUPPORTED", "RECEIVE_ONLY", ...


@cache
def banks() -> dict[str, Bank]:
    """Every known bank, by BIN."""
    rows = json.loads(
        files(__package__ or "payment_gateways.vietqr")
        .joinpath("banks.json")
        .read_text(encoding="utf-8")
    )
    return {
        row["bin"]: Bank(
            bin=row["bin"],
            short_name=row["short_name"],
            name=row["name"],
            code=row["vietqr_io_code"],
            swift=row["swift"],
            napas_status=row["napas_vietqr_status"],
        )
        for row in rows
    }


def bank_for_bin(bin: str) -> Bank:
    """The bank with this BIN; raises `VietQRError` for a BIN not in the list."""
    bank = banks().get(bin)
    if bank is None:
        raise VietQRError("38.01.00", Problem.UNKNOWN_BANK, repr(bin))
    return bank
