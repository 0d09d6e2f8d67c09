"""EMVCo tag-length-value framing: two-digit id, two-digit length (01-99), value.

Lengths count characters; a VietQR payload is printable ASCII, so characters
and bytes agree. Nothing here knows what a tag means; `codec` does.
"""

from __future__ import annotations

from .errors import Problem, VietQRError

# Lookup tables instead of int()/isdigit() in the hot loop: a 4-character header
# is valid exactly when it is a key of HEADERS. Length 00 is not a valid EMVCo length.
TAG_IDS = frozenset(f"{n:02d}" for n in range(100))
LENGTHS = {f"{n:02d}": n for n in range(1, 100)}
HEADERS = {tag + size: (tag, n) for tag in TAG_IDS for size, n in LENGTHS.items()}
_LENGTH_TEXT = [f"{n:02d}" for n in range(100)]

# Root tags whose value is itself TLV (merchant account templates, additional
# data, language template); 80-99 are left raw because wallets put plain data there.
TEMPLATES = frozenset({f"{n:02d}" for n in range(26, 52)} | {"62", "64"})


def tlv(tag: str, value: str) -> str:
    """One data object; the caller guarantees 1 <= len(value) <= 99."""
    return tag + _LENGTH_TEXT[len(value)] + value


def child(parent: str, tag: str) -> str:
    return f"{parent}.{tag}" if parent else tag


def parse(text: str, parent: str = "", final: str = "") -> dict[str, str]:
    """Split `text` into its data objects, in order; `parent` names them in errors.

    Nothing may follow a `final` tag (the root's CRC).
    """
    out: dict[str, str] = {}
    header = HEADERS.get
    end = len(text)
    i = 0
    while i < end:
        head = header(text[i : i + 4])
        if head is None:
            raise _framing_error(text, i, parent, out)
        tag, length = head
        j = i + 4 + length
        if j > end or tag in out:
            raise _framing_error(text, i, parent, out)
        out[tag] = text[i + 4 : j]
        if tag == final and j != end:
            where = f"{end - j} characters from offset {j}"
            raise VietQRError(child(parent, tag), Problem.TRAILING, where)
        i = j
    return out


def _framing_error(text: str, i: int, parent: str, seen: dict[str, str]) -> VietQRError:
    """Why the data object at `i` cannot be read (kept out of the hot loop)."""
    where = f"at offset {i} of {parent or 'payload'}"
    last = child(parent, list(seen)[-1]) if seen else parent or "payload"
    head = HEADERS.get(text[i : i + 4])
    if i + 4 > len(text):
        return VietQRError(last, Problem.TRUNCATED, f"{text[i:]!r} {where}")
    if head is None:
        return VietQRError(last, Problem.BAD_HEADER, f"{text[i : i + 4]!r} {where}")
    tag, length = head
    if tag in seen:
        return VietQRError(child(parent, tag), Problem.DUPLICATE, where)
    left = len(text) - i - 4
    return VietQRError(child(parent, tag), Problem.BAD_LENGTH, f"{length} declared, {left} left")


def locate(text: str, index: int) -> str:
    """Best-effort dotted name of the data object holding character `index`."""
    name, start, end = "", 0, len(text)
    while True:
        i = start
        found = False
        while i + 4 <= end:
            tag, length = text[i : i + 2], LENGTHS.get(text[i + 2 : i + 4])
            if tag not in TAG_IDS or length is None or i + 4 + length > end:
                break
            if i + 4 <= index < i + 4 + length:
                name, start, end, found = child(name, tag), i + 4, i + 4 + length, True
                break
            i += 4 + length
        if not found or name.split(".")[0] not in TEMPLATES or name.count(".") >= 2:
            return name or "payload"
