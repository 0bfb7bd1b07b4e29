"""Unified Social Credit Code: check digits, normalisation, generation."""

from __future__ import annotations

import random

import pytest

from services.uscc import (
    USCC_ALPHABET,
    USCC_WEIGHTS,
    UsccError,
    check_digit,
    make_uscc,
    normalize_uscc,
    org_code_check_digit,
)

# Published codes of real companies; every rule in normalize_uscc must accept them.
REAL_CODES = (
    "91350100M000100Y43",
    "911100001000080343",
    "9144030071526726XG",
    "914403001922038216",
    "91110000802100433B",
)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


def _corruptions(code: str) -> list[str]:
    return [
        code[:index] + char + code[index + 1 :]
        for index in range(len(code))
        for char in USCC_ALPHABET
        if char != code[index]
    ]


def test_alphabet_and_weights() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOZSV") & set(USCC_ALPHABET)
    assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_accepted(code: str) -> None:
    assert normalize_uscc(code) == code
    assert check_digit(code[:17]) == code[17]
    assert org_code_check_digit(code[8:16]) == code[16]


def test_check_digit_wraps_31_to_zero() -> None:
    assert check_digit("0" * 17) == "0"
    assert check_digit("1" + "0" * 16) == "Y"  # 31 - 1 = 30 → 'Y'


def test_org_code_check_digit_special_values() -> None:
    assert org_code_check_digit("71526726") == "X"  # 11 - 1 = 10 → 'X'
    assert org_code_check_digit("00000000") == "0"  # 11 - 0 = 11 → '0'
    assert org_code_check_digit("M000100Y") == "4"
    with pytest.raises(ValueError):
        org_code_check_digit("1234567")


def test_lowercase_and_whitespace_are_normalised() -> None:
    assert normalize_uscc("  91350100m000100y43\n") == "91350100M000100Y43"
    assert normalize_uscc("\t9144030071526726xg ") == "9144030071526726XG"


@pytest.mark.parametrize("raw", ["", "91350100M000100Y4", "91350100M000100Y433", " " * 18])
def test_wrong_length_is_rejected(raw: str) -> None:
    with pytest.raises(UsccError, match="wrong length"):
        normalize_uscc(raw)


@pytest.mark.parametrize("bad", [*"IOZSV", "-", " ", "中"])
def test_invalid_characters_are_rejected(bad: str) -> None:
    code = "91350100" + bad + "000100Y43"
    with pytest.raises(UsccError, match="invalid character") as info:
        normalize_uscc(code)
    assert info.value.position == 9


def test_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(UsccError) as info:
        normalize_uscc("91350100M000100Y44")
    assert info.value.reason == "wrong check digit: expected 3, got 4"
    assert info.value.position == 18


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def test_unknown_authority_is_rejected() -> None:
    with pytest.raises(UsccError, match="registration authority") as info:
        normalize_uscc(_with_check("H1350100M000100Y4"))
    assert info.value.position == 1


def test_non_digit_division_is_rejected() -> None:
    with pytest.raises(UsccError, match="division code") as info:
        normalize_uscc(_with_check("9135A100M000100Y4"))
    assert info.value.position == 5


def test_wrong_organisation_check_digit_is_rejected() -> None:
    with pytest.raises(UsccError) as info:
        normalize_uscc(_with_check("91350100M000100Y5"))
    assert info.value.reason == "wrong organisation code check digit: expected 4, got 5"
    assert info.value.position == 17


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_single_substitution_is_rejected(code: str) -> None:
    corrupted = _corruptions(code)
    assert len(corrupted) == 18 * 30
    for candidate in corrupted:
        with pytest.raises(UsccError):
            normalize_uscc(candidate)


def test_every_single_substitution_of_generated_codes_is_rejected() -> None:
    rng = _rng(7)
    for _ in range(20):
        code = make_uscc(rng, division="510100")
        for candidate in _corruptions(code):
            with pytest.raises(UsccError):
                normalize_uscc(candidate)


def test_generated_codes_are_valid() -> None:
    rng = _rng(2026)
    codes = [make_uscc(rng, division="320100") for _ in range(1000)]
    for code in codes:
        assert normalize_uscc(code) == code
        assert code[:8] == "91320100"
    assert len(set(codes)) == 1000
    assert any(code[8:10] == "MA" for code in codes)
    assert any(code[8:16].isdigit() for code in codes)


def test_generated_codes_honour_authority_and_type() -> None:
    rng = _rng(1)
    code = make_uscc(rng, division="110000", authority="1", org_type="2")
    assert code[:8] == "12110000"
    assert normalize_uscc(code) == code


def test_generation_is_deterministic() -> None:
    first = [make_uscc(_rng(5), division="440300") for _ in range(3)]
    assert first == [first[0]] * 3


@pytest.mark.parametrize(
    ("division", "authority", "org_type"),
    [("51010", "9", "1"), ("51010A", "9", "1"), ("510100", "H", "1"), ("510100", "9", "I")],
)
def test_make_uscc_rejects_bad_arguments(division: str, authority: str, org_type: str) -> None:
    with pytest.raises(ValueError):
        make_uscc(_rng(0), division=division, authority=authority, org_type=org_type)
