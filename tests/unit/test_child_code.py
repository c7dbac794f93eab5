"""The code people read aloud for a child: a number and a Damm check digit."""

from __future__ import annotations

import pytest

from server.registry.child_code import check_digit, format_code, parse_code


def test_a_code_is_five_digits_at_least_then_its_check_digit() -> None:
    assert format_code(42) == "00042-" + str(check_digit("00042"))
    assert format_code(1234567).startswith("1234567-")


def test_the_check_digit_of_the_reference_example() -> None:
    # Damm's worked example: 572 → check digit 4.
    assert check_digit("572") == 4


@pytest.mark.parametrize("number", [1, 42, 9999, 123456])
def test_a_code_reads_back_as_its_number(number: int) -> None:
    assert parse_code(format_code(number)) == number
    assert parse_code(" " + format_code(number).replace("-", " ") + " ") == number


def test_every_single_wrong_digit_and_neighbour_swap_is_caught() -> None:
    digits = "04271"
    code = digits + str(check_digit(digits))
    for index in range(len(code)):
        for wrong in "0123456789":
            if wrong != code[index]:
                typo = code[:index] + wrong + code[index + 1:]
                assert parse_code(f"{typo[:-1]}-{typo[-1]}") is None, typo
    for index in range(len(code) - 1):
        if code[index] != code[index + 1]:
            swapped = code[:index] + code[index + 1] + code[index] + code[index + 2:]
            assert parse_code(f"{swapped[:-1]}-{swapped[-1]}") is None, swapped


def test_text_that_is_no_code_finds_nothing() -> None:
    assert parse_code("") is None
    assert parse_code("Nguyễn") is None
    assert parse_code("12a45-3") is None
