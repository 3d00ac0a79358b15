"""Who sees what: the one rule, with a face for one object, for Elasticsearch, and for SQL.

A user sees a document when their clearance reaches its confidentiality and they are
archivist, compliance or admin, or share its department, or it is public; or, whatever
the clearance and department, when they hold an active borrow grant for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from archive.models import Document, Partner

CONFIDENTIALITY_LEVELS = ("public", "internal", "secret", "confidential")
CONFIDENTIALITY_RANK = {level: rank for rank, level in enumerate(CONFIDENTIALITY_LEVELS)}
ROLES = ("staff", "archivist", "compliance", "admin")
ARCHIVE_WIDE_ROLES = frozenset({"archivist", "compliance", "admin"})
UNMASKED_ROLES = frozenset({"archivist", "admin"})


@dataclass(frozen=True)
class User:
    sub: str
    roles: frozenset[str]
    departments: frozenset[str]
    clearance: str
    granted_document_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def clearance_rank(self) -> int:
        return CONFIDENTIALITY_RANK[self.clearance]

    @property
    def sees_all_departments(self) -> bool:
        return bool(self.roles & ARCHIVE_WIDE_ROLES)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def can_view_document(user: User, *, document_id: str, confidentiality: str, department: str) -> bool:
    if document_id in user.granted_document_ids:
        return True
    if user.clearance_rank < CONFIDENTIALITY_RANK[confidentiality]:
        return False
    return user.sees_all_departments or department in user.departments or confidentiality == "public"


def visibility_filter(user: User) -> dict[str, Any]:
    """The rule as an Elasticsearch filter; every query on the documents index carries it."""
    within_clearance: dict[str, Any] = {"range": {"confidentiality_rank": {"lte": user.clearance_rank}}}
    if user.sees_all_departments:
        by_rule: dict[str, Any] = within_clearance
    else:
        reach: list[dict[str, Any]] = [{"term": {"confidentiality": "public"}}]
        if user.departments:
            reach.append({"terms": {"department": sorted(user.departments)}})
        by_rule = {
            "bool": {
                "filter": [within_clearance],
                "should": reach,
                "minimum_should_match": 1,
            }
        }
    if not user.granted_document_ids:
        return by_rule
    return {
        "bool": {
            "should": [by_rule, {"ids": {"values": sorted(user.granted_document_ids)}}],
            "minimum_should_match": 1,
        }
    }


def document_visibility_clause(user: User) -> ColumnElement[bool]:
    """The rule as a SQL condition on `Document`, for listings served from the record."""
    allowed_levels = [
        level for level in CONFIDENTIALITY_LEVELS if CONFIDENTIALITY_RANK[level] <= user.clearance_rank
    ]
    if user.sees_all_departments:
        reach: ColumnElement[bool] = true()
    else:
        reach = or_(
            Document.confidentiality == "public",
            Document.department.in_(sorted(user.departments)) if user.departments else false(),
        )
    by_rule = and_(Document.confidentiality.in_(allowed_levels), reach)
    if not user.granted_document_ids:
        return by_rule
    return or_(by_rule, Document.id.in_(sorted(user.granted_document_ids)))


def partner_visibility_clause(user: User) -> ColumnElement[bool]:
    """A partner is visible by department, by role, or through any document the user sees."""
    if user.sees_all_departments:
        return true()
    sees_a_document = exists(
        select(Document.id).where(Document.partner_id == Partner.id, document_visibility_clause(user))
    )
    by_department = Partner.department.in_(sorted(user.departments)) if user.departments else false()
    return or_(by_department, sees_a_document)


# 18-character resident ID: area, a real-looking birth date, sequence, check character. The
# date part keeps all-digit credit codes (e.g. 913501003154662784) from being masked.
ID_NUMBER_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"(\d{3}[\dXx])(?![0-9A-Za-z])"
)


def mask_id_numbers(text: str) -> str:
    return ID_NUMBER_PATTERN.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


def sees_id_numbers(user: User, document_id: str) -> bool:
    return bool(user.roles & UNMASKED_ROLES) or document_id in user.granted_document_ids
