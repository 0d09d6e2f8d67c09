"""Bank statement exports (.csv UTF-8, .xlsx) read into `BankTransactionFact`s.

`read_statement` finds the header row with a `Layout` from `LAYOUTS` (header
labels as data), reads every row strictly and returns a `Statement`; bad
rows raise one `ImportRejected`. See docs/statements.md.
"""

from __future__ import annotations

from .layouts import FIELDS, LAYOUTS, REQUIRED, Layout, fold
from .reader import Statement, read_statement

__all__ = ["FIELDS", "LAYOUTS", "REQUIRED", "Layout", "Statement", "fold", "read_statement"]
