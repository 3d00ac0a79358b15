"""统一社会信用代码 (GB 32100-2015) and 15-digit 注册号 (GB/T 17710 MOD 11,10) checks."""

from __future__ import annotations

import re
import unicodedata

# GB 32100-2015 omits I, O, Z, S and V so they cannot be misread as digits.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_SHAPE = re.compile(rf"^[{CREDIT_CODE_ALPHABET}]{{18}}$")
_REGISTRATION_NO_SHAPE = re.compile(r"^\d{15}$")


def normalize_license_no(raw: str) -> str:
    """Full-width to half-width, upper case, spaces and dashes removed."""
    text = unicodedata.normalize("NFKC", raw).upper()
    return re.sub(r"[\s\-_]", "", text)


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if not _CREDIT_CODE_SHAPE.match(code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def registration_no_check_digit(first14: str) -> int:
    product = 10
    for char in first14:
        total = (product + int(char)) % 10 or 10
        product = (total * 2) % 11
    return (11 - product) % 10


def is_valid_registration_no(number: str) -> bool:
    if not _REGISTRATION_NO_SHAPE.match(number):
        return False
    return registration_no_check_digit(number[:14]) == int(number[14])
