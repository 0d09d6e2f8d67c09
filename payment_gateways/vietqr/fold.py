"""Fold free text (a transfer memo) to what a VietQR may carry: printable ASCII.

The rule: `đ`→`d` and `Đ`→`D` (they have no Unicode decomposition), then NFKD
and drop combining marks, so `Đảng phí tháng 3` becomes `Dang phi thang 3`;
typographic quotes and dashes become their ASCII forms; any other whitespace
or control character becomes a space; whatever is still not printable ASCII
is dropped; leading and trailing spaces are stripped. `limit` cuts the result.
"""

from __future__ import annotations

import unicodedata

_SPECIAL = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
    }
)


def is_printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def fold(text: str, limit: int | None = None) -> str:
    """`text` as printable ASCII by the rule above, at most `limit` characters."""
    if not is_printable_ascii(text):
        decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
        kept = []
        for ch in decomposed:
            if " " <= ch <= "~":
                kept.append(ch)
            elif ch.isspace() or unicodedata.category(ch)[0] == "C":
                kept.append(" ")
            # combining marks and characters with no ASCII form are dropped
        text = "".join(kept)
    text = text.strip()
    return text if limit is None else text[:limit].rstrip()
