"""Identifier checks and repair of single OCR slips: 统一社会信用代码, 注册号 and 居民身份证号码.

Only same-length substitutions are tried: a read that lost or gained a character is not
repaired, because guessing where a character went missing multiplies the candidates until
the check character no longer tells them apart.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from archive.credit_code import (
    CREDIT_CODE_ALPHABET,
    is_valid_credit_code,
    is_valid_registration_no,
    normalize_license_no,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DIGITS = "0123456789"
_EARLIEST_BIRTH_YEAR = 1900

# Characters OCR confuses, as read after NFKC and upper-casing (a lower-case l arrives as L).
# Each pair works both ways; a substitution is only tried when it yields a character that is
# allowed at that position.
_CONFUSABLE_PAIRS = (
    ("O", "0"),
    ("D", "0"),
    ("I", "1"),
    ("L", "1"),
    ("B", "8"),
    ("S", "5"),
    ("Z", "2"),
    ("G", "6"),
)
_CONFUSIONS: dict[str, frozenset[str]] = {}
for _left, _right in _CONFUSABLE_PAIRS:
    _CONFUSIONS[_left] = _CONFUSIONS.get(_left, frozenset()) | {_right}
    _CONFUSIONS[_right] = _CONFUSIONS.get(_right, frozenset()) | {_left}

# GB 32100: position 1 登记管理部门, 2 机构类别 and 9-18 may hold letters; 3-8 are the
# 行政区划码, digits only.
_CREDIT_CODE_ALLOWED = tuple(_DIGITS if 2 <= index <= 7 else CREDIT_CODE_ALPHABET for index in range(18))
_ID_ALLOWED = tuple(_DIGITS if index < 17 else _DIGITS + "X" for index in range(18))
_REGISTRATION_NO_ALLOWED = tuple(_DIGITS for _ in range(15))
_ORGANIZATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Resolved:
    """An identifier that passes its check; `corrected` when OCR slips were repaired."""

    value: str
    corrected: bool
    original: str


def id_number_check_char(first17: str) -> str:
    """Check character of an 18-digit resident ID number (GB 11643-1999)."""
    total = sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def organization_code_check_char(first8: str) -> str:
    """Check character of a 组织机构代码 (GB 11714-1997), positions 9-17 of a credit code."""
    total = sum(
        (int(char) if char.isdigit() else ord(char) - ord("A") + 10) * weight
        for char, weight in zip(first8, _ORGANIZATION_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def is_valid_id_number(number: str) -> bool:
    """18 characters, a check character that fits and a birth date that can be real."""
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in _DIGITS + "X":
        return False
    if id_number_check_char(number[:17]) != number[17]:
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return _EARLIEST_BIRTH_YEAR <= born.year and born <= dt.date.today()


def normalize_id_number(raw: str) -> str:
    """Full-width to half-width, upper case, spaces and dashes removed, × read as X."""
    return normalize_license_no(unicodedata.normalize("NFKC", raw).replace("×", "X"))


def resolve_credit_code(raw: str) -> Resolved | None:
    """The credit code in `raw`, repaired if one OCR slip explains a failed check; else None.

    A repaired code must also carry a valid 组织机构代码 (GB 11714) in positions 9-17: a slip
    outside the confusion table followed by a confusable character elsewhere passes GB 32100
    by chance one time in 31, and the second check makes that eleven times rarer.
    """
    return _resolve(
        normalize_license_no(raw),
        raw,
        _CREDIT_CODE_ALLOWED,
        is_valid_credit_code,
        repair_also_needs=_has_valid_organization_code,
    )


def resolve_id_number(raw: str) -> Resolved | None:
    """The ID number in `raw`, repaired if one OCR slip explains a failed check; else None."""
    return _resolve(normalize_id_number(raw), raw, _ID_ALLOWED, is_valid_id_number)


def resolve_registration_no(raw: str) -> Resolved | None:
    """A 15-digit 注册号 whose MOD 11,10 check passes, letters read for digits mapped back."""
    return _resolve(normalize_license_no(raw), raw, _REGISTRATION_NO_ALLOWED, is_valid_registration_no)


def lookup_candidates(raw: str) -> list[str]:
    """Licence numbers to look up for `raw`: the valid or uniquely repaired value, or none.

    Raises ValueError when `raw` cannot be a licence number at all.
    """
    value = normalize_license_no(raw)
    if len(value) == 15:
        allowed = _REGISTRATION_NO_ALLOWED
    elif len(value) == 18:
        allowed = _CREDIT_CODE_ALLOWED
    else:
        raise ValueError(
            f"执照号码应为 18 位统一社会信用代码或 15 位注册号，收到 {len(value)} 位"
            f" (a licence number has 18 or 15 characters, got {len(value)})"
        )
    if _forced(value, allowed) is None:
        raise ValueError(
            f"执照号码含有不允许的字符: {value} (the licence number contains characters that are not allowed)"
        )
    resolver = resolve_registration_no if len(value) == 15 else resolve_credit_code
    resolved = resolver(value)
    return [resolved.value] if resolved is not None else []


def _resolve(
    value: str,
    raw: str,
    allowed: tuple[str, ...],
    is_valid: Callable[[str], bool],
    repair_also_needs: Callable[[str], bool] = lambda _: True,
) -> Resolved | None:
    if len(value) != len(allowed):
        return None
    if is_valid(value):
        return Resolved(value=value, corrected=False, original=raw)
    forced = _forced(value, allowed)
    if forced is None:
        return None
    if forced != value and is_valid(forced):
        return Resolved(value=forced, corrected=True, original=raw) if repair_also_needs(forced) else None
    candidates = {candidate for candidate in _single_substitutions(forced, allowed) if is_valid(candidate)}
    if len(candidates) != 1:
        # None fits, or several do and the check character cannot say which slip happened.
        return None
    (repaired,) = candidates
    return Resolved(value=repaired, corrected=True, original=raw) if repair_also_needs(repaired) else None


def _has_valid_organization_code(code: str) -> bool:
    return organization_code_check_char(code[8:16]) == code[16]


def _forced(value: str, allowed: tuple[str, ...]) -> str | None:
    """Replace characters not allowed where they stand by their one allowed look-alike.

    These are not guesses: an O can never stand in a credit code, so it was a 0. None when a
    character is neither allowed nor a look-alike of exactly one allowed character.
    """
    chars = list(value)
    for index, char in enumerate(chars):
        if char in allowed[index]:
            continue
        fits = [other for other in _CONFUSIONS.get(char, ()) if other in allowed[index]]
        if len(fits) != 1:
            return None
        chars[index] = fits[0]
    return "".join(chars)


def _single_substitutions(value: str, allowed: tuple[str, ...]) -> list[str]:
    candidates = []
    for index, char in enumerate(value):
        for other in sorted(_CONFUSIONS.get(char, ())):
            if other in allowed[index]:
                candidates.append(value[:index] + other + value[index + 1 :])
    return candidates
