"""Payment reference codes: short, letters and digits, with a check character.

Rule: a code is `DP` + 7 symbols + 1 check symbol (e.g. `DPK7Q2M9XA`), in
Crockford's base-32 alphabet (no I, L, O, U, so nothing is misread; on
reading, I and L count as 1 and O as 0). The check symbol is Luhn mod 32, so
any single wrong symbol is caught, and any swap of two neighbours except the
pair `0`/`Z` (Luhn's one blind spot, like 09/90 in mod 10). Banks
rewrite memos (prefixes, upper/lower case, dots or spaces inside the code),
so `find_codes` searches a narrative case-insensitively, allows one separator
between symbols, and keeps only codes whose check symbol is right.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX: Final = "DP"
BODY: Final = 7
_VALUE = {c: i for i, c in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_SEP = r"[\s.\-_/]?"
_SYMBOL = r"[0-9A-Za-z]"
_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])D"
    + _SEP
    + "P"
    + "".join(_SEP + _SYMBOL for _ in range(BODY + 1))
    + r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_LOOSE = re.compile(
    "D" + _SEP + "P" + "".join(_SEP + _SYMBOL for _ in range(BODY + 1)), re.IGNORECASE
)


def check_symbol(body: str) -> str:
    """Luhn mod 32 over the body's symbols."""
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return PREFIX + body + check_symbol(body)


def code_for(seed: str) -> str:
    """A code derived from `seed` (the same seed, the same code): for the ledger's own
    transfers (a remittance, a cash deposit, a refund), so a retried command finds its code."""
    digest = hashlib.sha256(seed.encode()).digest()
    body = "".join(ALPHABET[b % 32] for b in digest[:BODY])
    return PREFIX + body + check_symbol(body)


def normalise(text: str) -> str | None:
    """The canonical code for a candidate (case, separators, I/L/O folded), or None if invalid."""
    compact = re.sub(r"[\s.\-_/]", "", text).upper()
    if len(compact) != len(PREFIX) + BODY + 1 or not compact.startswith(PREFIX):
        return None
    symbols = compact[len(PREFIX) :]
    if any(ch not in _VALUE for ch in symbols):
        return None
    canonical = "".join(ALPHABET[_VALUE[ch]] for ch in symbols)
    body, check = canonical[:BODY], canonical[BODY]
    return PREFIX + canonical if check_symbol(body) == check else None


def is_valid(code: str) -> bool:
    return normalise(code) is not None


def find_codes(narrative: str) -> list[str]:
    """Valid codes in a bank narrative, in order of appearance, without duplicates.

    Whole tokens are tried first; then codes glued to a bank's prefix or
    suffix (`...MBVCBDPK7Q2M9XACT...`), still only with a correct check symbol.
    """
    return list(_codes_in(narrative))


# an import looks at each narrative three times (two prefetches, then matching): the cache
# holds a whole chunk of a statement (`ledger.services.statements.CHUNK` lines)
@lru_cache(maxsize=65_536)
def _codes_in(narrative: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in (_PATTERN, _LOOSE):
        for match in pattern.finditer(narrative or ""):
            code = normalise(match.group(0))
            if code and code not in found:
                found.append(code)
        if found:
            break
    return tuple(found)
