"""Payment reference codes survive banks rewriting the memo; wrong check symbols are rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.reference_code import ALPHABET, check_symbol, find_codes, is_valid, new_code, normalise


def test_a_new_code_is_dp_plus_seven_symbols_plus_a_valid_check() -> None:
    for _ in range(200):
        code = new_code()
        assert len(code) == 10 and code.startswith("DP") and code.isalnum()
        assert is_valid(code)


@pytest.mark.parametrize(
    "narrative",
    [
        "MBVCB.4525077405.{c}.CT tu 0351000646393 NGUYEN VAN A toi 1018795282",
        "{lower} chuyen khoan dang phi",
        "IBFT {spaced} NGUYEN THI B",
        "TRANSFER-{dotted}-FT24123",
        "Thanh toan {c}",
        "REM TKTH 0011 MBVCB{c}CT",
    ],
)
def test_codes_are_found_in_noisy_narratives(narrative: str) -> None:
    code = "DP" + "K7Q2M9X" + check_symbol("K7Q2M9X")
    text = narrative.format(
        c=code,
        lower=code.lower(),
        spaced=" ".join([code[:4], code[4:7], code[7:]]),
        dotted=".".join([code[:5], code[5:]]),
    )
    assert find_codes(text) == [code]


def test_a_code_with_a_wrong_check_symbol_is_rejected() -> None:
    body = "K7Q2M9X"
    good = check_symbol(body)
    bad = next(c for c in ALPHABET if c != good)
    assert not is_valid("DP" + body + bad)
    assert find_codes(f"MBVCB.123.DP{body}{bad}.CT tu") == []


def test_misread_letters_fold_to_digits() -> None:
    body = "K7Q2M9X"
    code = "DP" + body + check_symbol(body)
    assert normalise(code.replace("1", "I")) == code
    zero_body = "0000001"
    assert normalise("DP" + "OOOOOOL" + check_symbol(zero_body)) == "DP" + zero_body + check_symbol(
        zero_body
    )


@given(
    st.text(alphabet=ALPHABET, min_size=7, max_size=7), st.integers(0, 6), st.sampled_from(ALPHABET)
)
def test_any_single_substitution_is_caught(body: str, position: int, symbol: str) -> None:
    code = "DP" + body + check_symbol(body)
    changed = body[:position] + symbol + body[position + 1 :]
    if changed != body:
        assert not is_valid("DP" + changed + code[-1])


@given(st.text(alphabet=ALPHABET, min_size=7, max_size=7), st.integers(0, 5))
def test_any_swap_of_neighbours_is_caught_except_luhns_blind_pair(body: str, position: int) -> None:
    pair = {body[position], body[position + 1]}
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
    if swapped != body and pair != {"0", "Z"}:
        assert not is_valid("DP" + swapped + check_symbol(body))


def test_the_blind_pair_is_exactly_zero_and_z() -> None:
    assert check_symbol("0Z00000") == check_symbol("Z000000")
    assert check_symbol("0Y00000") != check_symbol("Y000000")


@given(st.text(max_size=200))
def test_find_codes_never_raises_and_returns_only_valid_codes(text: str) -> None:
    assert all(is_valid(c) for c in find_codes(text))
