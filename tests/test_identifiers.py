"""Identifier checks and single-slip OCR repair: 统一社会信用代码, 注册号, 居民身份证号码."""

from __future__ import annotations

import pytest

from archive.credit_code import is_valid_credit_code
from archive.identifiers import (
    Resolved,
    id_number_check_char,
    is_valid_id_number,
    lookup_candidates,
    organization_code_check_char,
    resolve_credit_code,
    resolve_id_number,
)
from tests.samples import CREDIT_CODE

# The example of GB 11643-1999 itself, with X as check character.
ID_WITH_X = "11010519491231002X"
ID_NUMBER = "350102198503071236"
# A code whose 组织机构代码 holds letters: a B/8 or G/6 slip in it is a real risk.
LETTERED_CODE = "9135010090G74G39XK"
REGISTRATION_NO = "350100100012341"


def test_fixtures_are_real_identifiers() -> None:
    assert is_valid_credit_code(CREDIT_CODE)
    assert is_valid_credit_code(LETTERED_CODE)
    assert organization_code_check_char(CREDIT_CODE[8:16]) == CREDIT_CODE[16]
    assert id_number_check_char(ID_NUMBER[:17]) == ID_NUMBER[17]


# --- ID numbers ------------------------------------------------------------------------------


def test_id_number_check_character_and_birth_date() -> None:
    assert is_valid_id_number(ID_WITH_X)
    assert is_valid_id_number(ID_NUMBER)
    assert not is_valid_id_number(ID_NUMBER[:17] + "7")  # wrong check character
    assert not is_valid_id_number(ID_WITH_X.lower())  # x is normalised by resolve_*, not here
    assert not is_valid_id_number(ID_NUMBER[:17])


@pytest.mark.parametrize(
    "birth",
    ["19850230", "18990101", "29990101", "19851301"],
    ids=["30 February", "before 1900", "in the future", "month 13"],
)
def test_id_number_with_impossible_birth_date_is_invalid(birth: str) -> None:
    first17 = "350102" + birth + "123"
    assert not is_valid_id_number(first17 + id_number_check_char(first17))


def test_id_number_as_typed_or_read() -> None:
    assert resolve_id_number(ID_NUMBER) == Resolved(ID_NUMBER, corrected=False, original=ID_NUMBER)
    spaced = "350102 19850307 1236"
    assert resolve_id_number(spaced) == Resolved(ID_NUMBER, corrected=False, original=spaced)
    assert resolve_id_number("１１０１０５１９４９１２３１００２ｘ").value == ID_WITH_X  # full width, lower x
    assert resolve_id_number("11010519491231002×").value == ID_WITH_X  # multiplication sign


def test_id_number_letters_read_for_digits_are_repaired() -> None:
    for slipped in ("35O102198503071236", "350102198SO3071236", "35010219B503071236", "35010Z198503071236"):
        resolved = resolve_id_number(slipped)
        assert resolved == Resolved(ID_NUMBER, corrected=True, original=slipped), slipped


def test_id_number_wrong_digit_or_length_is_not_guessed() -> None:
    assert resolve_id_number("350102198503071237") is None  # no letter to repair: any digit could be wrong
    assert resolve_id_number("35010219850307123") is None  # one character lost
    assert resolve_id_number("3501021985030712366") is None  # one gained
    assert resolve_id_number("35010219850307123#") is None


# --- credit codes ----------------------------------------------------------------------------


def test_valid_credit_code_is_normalised_not_corrected() -> None:
    raw = " 9135-0100-3154-6627-84 "
    assert resolve_credit_code(raw) == Resolved(CREDIT_CODE, corrected=False, original=raw)
    assert resolve_credit_code("９１３５０１００３１５４６６２７８４").value == CREDIT_CODE


def test_o_for_zero_in_a_credit_code_is_repaired() -> None:
    # O is not in the GB 32100 alphabet, so every O was a 0.
    resolved = resolve_credit_code("9135O1OO3154662784")
    assert resolved == Resolved(CREDIT_CODE, corrected=True, original="9135O1OO3154662784")


@pytest.mark.parametrize(
    "slipped",
    ["9135010031546627B4", "9l3501003154662784", "913501003I54662784"],
    ids=["B for 8", "lower-case l for 1", "I for 1"],
)
def test_single_slip_with_one_fitting_repair_is_corrected(slipped: str) -> None:
    resolved = resolve_credit_code(slipped)
    assert resolved is not None and resolved.value == CREDIT_CODE and resolved.corrected


def test_slip_with_two_fitting_repairs_is_not_corrected() -> None:
    # L for 1 at position 2: restoring 1 fits, and so does reading the 0 at position 10 as D.
    slipped = "9L35010090G74G39XK"
    assert is_valid_credit_code("9L3501009DG74G39XK")  # the other repair also passes GB 32100
    assert resolve_credit_code(slipped) is None


def test_slip_outside_the_confusion_table_is_not_corrected() -> None:
    assert resolve_credit_code("913501003154662785") is None  # 4 read as 5: nothing to try
    assert resolve_credit_code("91350100315466278") is None  # 17 characters: no length repair


def test_regional_part_of_a_credit_code_stays_digits() -> None:
    # Positions 3-8 are the 行政区划码, digits only: a D there can only have been a 0.
    assert resolve_credit_code("9135D1003154662784") == Resolved(
        CREDIT_CODE, corrected=True, original="9135D1003154662784"
    )
    # A B where a 3 stood becomes an 8, which the check character then refuses.
    assert resolve_credit_code("91B501003154662784") is None


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_of_a_valid_or_uniquely_repaired_code() -> None:
    assert lookup_candidates(CREDIT_CODE) == [CREDIT_CODE]
    assert lookup_candidates("9135 O1OO 3154 6627 84") == [CREDIT_CODE]
    assert lookup_candidates("9135010031546627b4") == [CREDIT_CODE]
    assert lookup_candidates("9L35010090G74G39XK") == []  # ambiguous: nothing is looked up
    assert lookup_candidates("913501003154662785") == []


def test_lookup_of_a_registration_number() -> None:
    assert lookup_candidates(REGISTRATION_NO) == [REGISTRATION_NO]
    assert lookup_candidates(REGISTRATION_NO[:-1] + "5") == []


@pytest.mark.parametrize(
    "raw", ["", "9135010031546627", "91350100315466278433", "91350100315466278中", "9135010031546627V4"]
)
def test_lookup_refuses_what_cannot_be_a_licence_number(raw: str) -> None:
    with pytest.raises(ValueError, match=r"[\u4e00-\u9fff].*\(.*[a-z]"):
        lookup_candidates(raw)
