"""Encode and decode VietQR payloads (NAPAS profile of EMVCo merchant-presented QR).

Decoding is strict: the payload is printable ASCII; 00=01 comes first and the
CRC (63, four hex digits, any case) last; 01 is 11 or 12; 38 holds the NAPAS
GUID, a 6-digit BIN, an account (1-19 letters or digits; digits for a card) and
the service; 53=704; 58=VN; 54, when present, is a positive whole number of
đồng (required on a dynamic QR); 62 sub-fields 01-09 are at most 25
characters. Other tags are kept raw. Anything else raises `VietQRError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .banks import bank_for_bin
from .checks import SHORT_62, amount_text, caller_fields, check_account, check_bin
from .crc import crc16
from .errors import Problem, VietQRError
from .fold import fold, is_printable_ascii
from .model import (
    AMOUNT_DIGITS,
    BILL_NUMBER,
    COUNTRY_VN,
    CURRENCY_VND,
    GUID,
    MEMO_LIMIT,
    PURPOSE,
    REFERENCE_LABEL,
    TERMINAL_LABEL,
    Initiation,
    Service,
    VietQR,
)
from .tlv import LENGTHS, TEMPLATES, locate, parse, tlv

_POI = {p.value: p for p in Initiation}
_SERVICES = {s.value: s for s in Service}
_NAMED_ROOT = frozenset({"00", "01", "38", "53", "54", "58", "62", "63"})
_NAMED_62 = (BILL_NUMBER, REFERENCE_LABEL, TERMINAL_LABEL, PURPOSE)
_MERCHANT_TAGS = frozenset({"00", "01", "02"})
_BENEFICIARY_TAGS = frozenset({"00", "01"})
_HEX = frozenset("0123456789ABCDEFabcdef")
_GUID_TLV = tlv("00", GUID)
_CANONICAL_38 = _GUID_TLV + "01"
_SERVICE_TLV = {tlv("02", s.value): s for s in Service}
_CURRENCY_TLV = tlv("53", CURRENCY_VND)
_COUNTRY_TLV = tlv("58", COUNTRY_VN)
_POI_TLV = {p: tlv("01", p.value) for p in Initiation}
_SERVICE_TLV_OF = {s: tlv("02", s.value) for s in Service}


def decode(payload: str | bytes) -> VietQR:
    """Read a VietQR payload; raises `VietQRError` naming the first bad tag."""
    if type(payload) is str and payload and payload.isascii() and payload.isprintable():
        text = payload
    else:
        text = _as_text(payload)
    root = parse(text, final="63")
    tags = tuple(root)
    if tags[0] != "00" or tags[-1] != "63" or crc16(text[:-4]) != root["63"].upper():
        _check_frame(text, root)  # raises with the precise reason
    get = root.get
    if get("00") != "01":
        raise VietQRError("00", Problem.BAD_VALUE, repr(root["00"]))
    poi = _POI.get(get("01", ""))
    if poi is None:
        raise VietQRError("01", Problem.BAD_VALUE, repr(_need(root, "01")))
    if get("53") != CURRENCY_VND:
        raise VietQRError("53", Problem.BAD_VALUE, repr(_need(root, "53")))
    if get("58") != COUNTRY_VN:
        raise VietQRError("58", Problem.BAD_VALUE, repr(_need(root, "58")))
    bin, account, service = _merchant(_need(root, "38"))
    amount = _amount(root["54"]) if "54" in root else None
    if amount is None and poi is Initiation.DYNAMIC:
        raise VietQRError("54", Problem.MISSING, "a dynamic QR (01=12) must carry an amount")
    extra: tuple[tuple[str, str], ...] = ()
    if len(root) != 6 + ("54" in root) + ("62" in root):  # tags beyond the named ones
        extra = tuple((t, v) for t, v in root.items() if t not in _NAMED_ROOT)
        for tag, value in extra:
            if tag in TEMPLATES:
                parse(value, tag)
    add = _additional(root["62"]) if "62" in root else {}
    return VietQR(
        bin=bin,
        account=account,
        service=service,
        poi=poi,
        amount=amount,
        purpose=add.pop(PURPOSE, None),
        crc=root["63"],
        bill_number=add.pop(BILL_NUMBER, None),
        reference_label=add.pop(REFERENCE_LABEL, None),
        terminal_label=add.pop(TERMINAL_LABEL, None),
        extra_tags=extra,
        extra_additional=tuple(add.items()),
        tag_order=tags[1:-1],  # 00 is first and 63 last, checked above
    )


def encode(
    bin: str,
    account: str,
    *,
    service: Service | str = Service.TO_ACCOUNT,
    amount: int | None = None,
    purpose: str | None = None,
    poi: Initiation | str | None = None,
    bill_number: str | None = None,
    reference_label: str | None = None,
    terminal_label: str | None = None,
    extra_tags: Sequence[tuple[str, str]] = (),
    extra_additional: Sequence[tuple[str, str]] = (),
    tag_order: Sequence[str] = (),
) -> str:
    """A VietQR payload paying `account` (or card) at the bank with `bin`.

    `purpose` (the memo) is folded to ASCII and must then fit 25 characters. The
    QR is dynamic when an amount is given unless `poi` says otherwise. Root tags
    come out in `tag_order`, then in ascending order; 00 is always first.
    """
    check_bin(bin)
    bank_for_bin(bin)
    svc = _SERVICES.get(service) if isinstance(service, str) else None
    if svc is None:
        raise VietQRError("38.02", Problem.BAD_VALUE, repr(service))
    check_account(account, svc)
    chosen = _POI.get(poi) if isinstance(poi, str) else None
    if poi is None:
        chosen = Initiation.STATIC if amount is None else Initiation.DYNAMIC
    if chosen is None:
        raise VietQRError("01", Problem.BAD_VALUE, repr(poi))
    if chosen is Initiation.DYNAMIC and amount is None:
        raise VietQRError("54", Problem.MISSING, "a dynamic QR (01=12) must carry an amount")
    beneficiary = tlv("01", "0006" + bin + tlv("01", account))
    parts = {
        "01": _POI_TLV[chosen],
        "38": tlv("38", _GUID_TLV + beneficiary + _SERVICE_TLV_OF[svc]),
        "53": _CURRENCY_TLV,
        "54": "" if amount is None else tlv("54", amount_text(amount)),
        "58": _COUNTRY_TLV,
        "62": _additional_tlv(
            (
                bill_number,
                reference_label,
                terminal_label,
                fold(purpose) if isinstance(purpose, str) else purpose,
            ),
            extra_additional,
        ),
    }
    if extra_tags:
        parts.update(caller_fields("", extra_tags, _NAMED_ROOT))
    order: Iterable[str] = parts  # already ascending
    if tag_order or extra_tags:
        first = [t for t in dict.fromkeys(tag_order) if t in parts]
        order = first + sorted(t for t in parts if t not in first)
    body = "000201" + "".join([parts[t] for t in order]) + "6304"
    return body + crc16(body)


def _additional_tlv(named: tuple[str | None, ...], extra: Sequence[tuple[str, str]]) -> str:
    """Tag 62 from the named sub-fields (01, 05, 07, 08) and any others, ascending."""
    given = [(tag, value) for tag, value in zip(_NAMED_62, named, strict=True) if value is not None]
    if not given and not extra:
        return ""
    fields = caller_fields("62", given, ())
    if extra:
        fields = sorted(fields + caller_fields("62", extra, _NAMED_62))
    content = "".join([text for _, text in fields])
    if len(content) > 99:
        raise VietQRError("62", Problem.TOO_LONG, f"{len(content)} > 99 characters")
    return tlv("62", content)


# decoding helpers


def _as_text(payload: object) -> str:
    """`payload` as printable ASCII text, or the reason it is not."""
    if isinstance(payload, bytes):
        payload = payload.decode("latin-1")  # any byte maps; non-ASCII is refused below
    if not isinstance(payload, str):
        raise VietQRError("payload", Problem.NOT_TEXT, type(payload).__name__)
    if not payload:
        raise VietQRError("payload", Problem.EMPTY)
    if not is_printable_ascii(payload):
        index = next(i for i, ch in enumerate(payload) if not " " <= ch <= "~")
        where = f"{payload[index]!r} at position {index}"
        raise VietQRError(locate(payload, index), Problem.NOT_ASCII, where)
    return payload


def _check_frame(text: str, root: dict[str, str]) -> None:
    """00 first, 63 last with four hex digits matching the CRC of all before them."""
    tags = list(root)
    if tags[0] != "00":
        problem = Problem.MISPLACED if "00" in root else Problem.MISSING
        raise VietQRError("00", problem, "must be the first tag")
    if tags[-1] != "63":
        raise VietQRError("63", Problem.MISSING, "the CRC must be the last tag")
    crc = root["63"]
    if len(crc) != 4 or not _HEX.issuperset(crc):
        raise VietQRError("63", Problem.BAD_VALUE, f"{crc!r} is not four hex digits")
    expected = crc16(text[:-4])
    if crc.upper() != expected:
        raise VietQRError("63", Problem.BAD_CRC, f"{crc} given, {expected} computed")


def _need(fields: dict[str, str], tag: str, parent: str = "") -> str:
    value = fields.get(tag)
    if value is None:
        raise VietQRError(f"{parent}.{tag}" if parent else tag, Problem.MISSING)
    return value


def _exactly(fields: dict[str, str], wanted: tuple[str, ...], parent: str) -> None:
    """Raise for the first sub-tag of `parent` that is not wanted, or wanted and absent."""
    for tag in fields:
        if tag not in wanted:
            raise VietQRError(f"{parent}.{tag}", Problem.UNEXPECTED)
    for tag in wanted:
        _need(fields, tag, parent)


def _merchant(value: str) -> tuple[str, str, Service]:
    # Fast path for the layout every generator writes: 00 GUID, 01 (00 BIN, 01 account), 02.
    service = _SERVICE_TLV.get(value[-12:])
    if service is not None and value.startswith(_CANONICAL_38):
        size = LENGTHS.get(value[16:18], 0)
        if 18 + size == len(value) - 12 and value[18:22] == "0006" and value[28:30] == "01":
            bin, account = value[22:28], value[32 : 18 + size]
            if LENGTHS.get(value[30:32]) == len(account):
                check_bin(bin)
                check_account(account, service)
                return bin, account, service
    fields = parse(value, "38")
    if len(fields) != 3 or fields.keys() != _MERCHANT_TAGS:
        _exactly(fields, ("00", "01", "02"), "38")
    if fields["00"] != GUID:
        raise VietQRError("38.00", Problem.WRONG_GUID, repr(fields["00"]))
    beneficiary = parse(fields["01"], "38.01")
    if len(beneficiary) != 2 or beneficiary.keys() != _BENEFICIARY_TAGS:
        _exactly(beneficiary, ("00", "01"), "38.01")
    service = _SERVICES.get(fields["02"])
    if service is None:
        raise VietQRError("38.02", Problem.BAD_VALUE, repr(fields["02"]))
    bin, account = beneficiary["00"], beneficiary["01"]
    check_bin(bin)
    check_account(account, service)
    return bin, account, service


def _amount(value: str) -> int:
    if not value.isdigit() or value[0] == "0" or len(value) > AMOUNT_DIGITS:
        raise VietQRError("54", Problem.BAD_AMOUNT, repr(value))
    return int(value)


def _additional(value: str) -> dict[str, str]:
    fields = parse(value, "62")
    for tag, text in fields.items():
        if tag in SHORT_62 and len(text) > MEMO_LIMIT:
            raise VietQRError(f"62.{tag}", Problem.TOO_LONG, f"{len(text)} > {MEMO_LIMIT}")
    return fields


def encode_qr(qr: VietQR) -> str:
    """Encode a decoded payload again: every field it carried, in its tag order."""
    return encode(
        qr.bin,
        qr.account,
        service=qr.service,
        amount=qr.amount,
        purpose=qr.purpose,
        poi=qr.poi,
        bill_number=qr.bill_number,
        reference_label=qr.reference_label,
        terminal_label=qr.terminal_label,
        extra_tags=qr.extra_tags,
        extra_additional=qr.extra_additional,
        tag_order=qr.tag_order,
    )
