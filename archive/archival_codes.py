"""档号 and 保管期限 per DA/T 22-2015: `全宗号-门类代码·年度-保管期限-机构（问题）代码-件号`.

The 件号 is four digits and gap-free within its group (everything before it). It is taken
from a sequence row in the transaction that records the document: concurrent uploads queue
on that row, and a transaction that fails takes its number back with it. A destroyed
document's number stays accounted for through its destruction record.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import distinct, func, select, union_all
from sqlalchemy.orm import Session

from archive.models import DestructionRecord, Document
from archive.numbering import next_values
from archive.settings import Settings

RETENTION_CODES = ("Y", "D30", "D10")
RETENTION_LABELS = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
RETENTION_YEARS = {"D30": 30, "D10": 10}
_ITEM_FIELD = re.compile(r"\{item(:[^}]*)?\}")


@dataclass(frozen=True)
class ArchivalCode:
    retention: str
    filing_year: int
    group: str
    item_no: int
    code: str


@dataclass(frozen=True)
class ArchivalRule:
    """The configured 档号 rule; `group` is the code up to the 件号, `code` the whole."""

    fonds: str
    category: str
    format: str
    organization_codes: dict[str, str]
    retention_periods: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchivalRule:
        return cls(
            fonds=settings.fonds_no,
            category=settings.archive_category,
            format=settings.archival_code_format,
            organization_codes=dict(settings.organization_codes),
            retention_periods=dict(settings.retention_periods),
        )

    def retention_for(self, doc_type: str) -> str:
        retention = self.retention_periods.get(doc_type, "Y")
        # An unknown code would make a document look destroyable or never so: keep it forever.
        return retention if retention in RETENTION_CODES else "Y"

    def _prefix_and_suffix(self) -> tuple[str, str]:
        match = _ITEM_FIELD.search(self.format)
        if match is None:
            raise ValueError("档号格式缺少 {item} (the archival code format needs {item})")
        return self.format[: match.start()], self.format[match.end() :]

    def group(self, *, year: int, retention: str, department: str) -> str:
        prefix, _ = self._prefix_and_suffix()
        # A department without a code stands for itself, cut short: the group keys a sequence row.
        org = self.organization_codes.get(department) or department[:20]
        return prefix.format(
            fonds=self.fonds, category=self.category, year=year, retention=retention, org=org
        )

    def code(self, group: str, item_no: int) -> str:
        match = _ITEM_FIELD.search(self.format)
        assert match is not None
        _, suffix = self._prefix_and_suffix()
        return group + ("{item" + (match.group(1) or "") + "}").format(item=item_no) + suffix

    def pattern(self) -> re.Pattern[str]:
        """What a well-formed code of this rule looks like (GD-1-7 档号规范性)."""
        parts = {
            "fonds": re.escape(self.fonds),
            "category": re.escape(self.category),
            "year": r"\d{4}",
            "retention": "(?:" + "|".join(RETENTION_CODES) + ")",
            "org": r"[0-9A-Za-z\u4e00-\u9fff]+",
            "item": r"\d{4,}",
        }
        regex = ""
        for literal, field, _spec, _conversion in string.Formatter().parse(self.format):
            regex += re.escape(literal)
            if field is not None:
                regex += parts.get(field, ".+")
        return re.compile(f"^{regex}$")


def assign_codes(
    session: Session,
    *,
    rule: ArchivalRule,
    doc_type: str,
    department: str,
    count: int = 1,
    on: date | None = None,
) -> list[ArchivalCode]:
    """The next `count` codes of one group, in the caller's transaction."""
    year = (on or datetime.now(UTC).date()).year
    retention = rule.retention_for(doc_type)
    group = rule.group(year=year, retention=retention, department=department)
    return [
        ArchivalCode(retention, year, group, item, rule.code(group, item))
        for item in next_values(session, f"item:{group}", count)
    ]


def apply_code(document: Document, code: ArchivalCode) -> None:
    document.retention = code.retention
    document.filing_year = code.filing_year
    document.archival_group = code.group
    document.item_no = code.item_no
    document.archival_code = code.code


@dataclass(frozen=True)
class SequenceFinding:
    group: str
    highest: int
    missing: list[int]
    duplicated: list[int]
    destroyed: int = 0

    @property
    def intact(self) -> bool:
        return not self.missing and not self.duplicated


def group_sequence(session: Session, group: str) -> SequenceFinding:
    """件号 of one group, counting destroyed documents: gaps and duplicates (GD-2-6).

    Counted in the database first (count, distinct count, highest): a sound group of 100,000
    documents costs one aggregate, and only a broken one is read number by number.
    """
    numbers = union_all(
        select(Document.item_no.label("n")).where(Document.archival_group == group),
        select(DestructionRecord.item_no.label("n")).where(DestructionRecord.archival_group == group),
    ).subquery()
    count, distinct_count, lowest, highest = session.execute(
        select(func.count(numbers.c.n), func.count(distinct(numbers.c.n)), func.min(numbers.c.n),
               func.max(numbers.c.n))
    ).one()
    destroyed = session.scalar(
        select(func.count()).select_from(DestructionRecord).where(DestructionRecord.archival_group == group)
    ) or 0
    if count == distinct_count == (highest or 0) and (lowest or 1) == 1:
        return SequenceFinding(group, highest or 0, [], [], destroyed)
    present = [n for n in session.scalars(select(numbers.c.n)) if n is not None]
    seen: set[int] = set()
    duplicated = sorted({n for n in present if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    missing = sorted(set(range(1, (highest or 0) + 1)) - seen)
    return SequenceFinding(group, highest or 0, missing, duplicated, destroyed)


_RETENTION_LENGTH = {"D10": 10, "D30": 30, "Y": 10_000}


def longer_retention(kept: str | None, rule: str) -> str | None:
    """The longer of a document's 保管期限 and what its (new) type's rule says; None stays None (永久).

    A type correction may lengthen the period but never shorten it: a slip in the form must
    not make a document destroyable years early. Shortening is an appraisal, not an edit.
    """
    if kept is None:
        return None
    return max(kept, rule, key=lambda code: _RETENTION_LENGTH.get(code, _RETENTION_LENGTH["Y"]))


def retention_ends(*, retention: str | None, start: date) -> date | None:
    """When a document's 保管期限 runs out, counted from `start`; None for 永久 (never)."""
    years = RETENTION_YEARS.get(retention or "Y")
    if years is None:
        return None
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        return start.replace(year=start.year + years, day=28)
