"""The one error of the VietQR codec: which tag is wrong and what is wrong with it.

Every malformed payload or request raises `VietQRError`, never another
exception, so callers (the API, the statement matcher) need one `except`.
Messages are offered in Vietnamese and English.
"""

from __future__ import annotations

from enum import Enum


class Problem(Enum):
    """What can be wrong with a tag: (English, Vietnamese) wording."""

    EMPTY = ("is empty", "rỗng")
    NOT_TEXT = ("is not text", "không phải là chuỗi ký tự")
    NOT_ASCII = ("contains a character outside printable ASCII", "chứa ký tự ngoài ASCII in được")
    BAD_HEADER = (
        "has a malformed tag or length field",
        "có mã thẻ hoặc trường độ dài sai định dạng",
    )
    BAD_LENGTH = (
        "declares a length that does not fit the data",
        "khai báo độ dài không khớp với dữ liệu",
    )
    TRUNCATED = ("is followed by an incomplete tag", "bị theo sau bởi một thẻ không đầy đủ")
    TRAILING = ("is followed by trailing data", "có dữ liệu thừa phía sau")
    DUPLICATE = ("appears more than once", "xuất hiện nhiều lần")
    MISSING = ("is missing", "bị thiếu")
    MISPLACED = ("is out of place", "sai vị trí")
    UNEXPECTED = ("is not allowed here", "không được phép ở đây")
    BAD_VALUE = ("has an invalid value", "có giá trị không hợp lệ")
    WRONG_GUID = (
        "is not the NAPAS VietQR GUID A000000727",
        "không phải GUID VietQR của NAPAS (A000000727)",
    )
    BAD_AMOUNT = (
        "is not a positive whole number of đồng",
        "không phải số tiền nguyên dương (đồng)",
    )
    TOO_LONG = ("is too long", "quá dài")
    BAD_CRC = ("checksum does not match", "mã kiểm tra CRC không khớp")
    UNKNOWN_BANK = ("is not a known bank BIN", "không phải mã BIN ngân hàng đã biết")

    @property
    def en(self) -> str:
        return self.value[0]

    @property
    def vi(self) -> str:
        return self.value[1]


class VietQRError(ValueError):
    """Raised when a VietQR payload cannot be decoded or a request cannot be encoded.

    `tag` names the data object in dotted form (`"54"`, `"38.01.00"`, `"62.08"`),
    or `"payload"` for the string as a whole; `problem` says what is wrong and
    `detail` adds the offending value or position.
    """

    def __init__(self, tag: str, problem: Problem, detail: str = "") -> None:
        self.tag = tag
        self.problem = problem
        self.detail = detail
        super().__init__(f"{self.message_vi} / {self.message_en}")

    @property
    def message_en(self) -> str:
        where = "payload" if self.tag == "payload" else f"tag {self.tag}"
        return f"{where}: {self.problem.en}" + (f" ({self.detail})" if self.detail else "")

    @property
    def message_vi(self) -> str:
        where = "chuỗi QR" if self.tag == "payload" else f"thẻ {self.tag}"
        return f"{where}: {self.problem.vi}" + (f" ({self.detail})" if self.detail else "")
