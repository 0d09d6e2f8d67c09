"""Deterministic identities: UUIDv5 of a natural key.

Rule: an aggregate with a natural key (an organisation code, a branch and a
month, a payment reference) always has the same id, so a retried command meets
its own earlier result instead of writing a duplicate.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("4f6a1c2e-9d7b-5e3a-8c1f-2b0d6e9a7c44")


@lru_cache(maxsize=65_536)  # matching a statement asks for the same ids many times
def _id(*parts: str) -> UUID:
    return uuid5(NAMESPACE, "/".join(parts))


def org_id(code: str) -> UUID:
    return _id("org", code)


def member_id(code: str) -> UUID:
    return _id("member", code)


def register_id(branch_code: str) -> UUID:
    return _id("register", branch_code)


def roll_id(branch_code: str, period: str) -> UUID:
    return _id("roll", branch_code, period)


def remittance_id(org_code: str, period: str) -> UUID:
    return _id("remittance", org_code, period)


def payment_id(reference: str) -> UUID:
    return _id("payment", reference)


def policy_id() -> UUID:
    return _id("policy", "dues")


def roots_id() -> UUID:
    return _id("index", "roots")
