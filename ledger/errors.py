"""The one error tree of the ledger.

Every error a person can cause carries a message in Vietnamese and in English
(`message_vi`, `message_en`); `str(error)` gives both. Outer layers map these
classes to exit codes and HTTP statuses; nothing else should be raised for bad
input.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Raised for any refusal by the ledger; the base of all domain errors."""

    def __init__(self, message_vi: str, message_en: str, *, field: str | None = None) -> None:
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field
        super().__init__(f"{message_vi} / {message_en}")


class InvalidInput(LedgerError):
    """Raised when a value is malformed: a period, an amount, a code, a CSV row."""


class NotFound(LedgerError):
    """Raised when a code names no organisation, member or record the ledger holds."""


class Conflict(LedgerError):
    """Raised when a command contradicts the ledger's state (month already open, member left)."""


class PolicyError(LedgerError):
    """Raised when the dues policy has no rule for a case or a policy change is invalid."""


class ImportRejected(InvalidInput):
    """Raised when an import file has bad rows; lists every one, nothing is imported."""

    def __init__(self, problems: list[tuple[int, str, str]], what: str) -> None:
        self.problems = problems
        what_vi, _, what_en = what.partition(" / ")
        rows = len({n for n, _, _ in problems})
        lines_vi = "\n".join(f"  dòng {n}: {vi}" for n, vi, _ in problems)
        lines_en = "\n".join(f"  line {n}: {en}" for n, _, en in problems)
        super().__init__(
            f"Tệp {what_vi} có {rows} dòng lỗi, không nhập dòng nào:\n{lines_vi}",
            f"The {what_en or what_vi} file has {rows} bad row{'' if rows == 1 else 's'}; "
            f"nothing was imported:\n{lines_en}",
        )


class NotificationRejected(InvalidInput):
    """Raised when a gateway notification fails authentication or cannot be read; nothing is recorded."""


class GatewayNotConfigured(NotificationRejected):
    """Raised when a gateway's secret is not set here, so no notification can be read."""
