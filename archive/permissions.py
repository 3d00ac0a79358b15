"""Who sees what: the one rule, with a face for one object, for Elasticsearch, and for SQL.

A user sees a document when their clearance reaches its confidentiality and they are
archivist, compliance or admin, or share its department, or it is public; or, whatever
the clearance and department, when they hold an active borrow grant for it. Relationship
records are seen under the same rule (they carry the same three fields, and no grants).

Who changes a partner is a separate, narrower rule: seeing a partner through one of its
documents lets a user read it, never rewrite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session, aliased

# Kept importable from here; the one masking rule lives in archive.masking.
from archive.masking import mask_id_numbers as mask_id_numbers
from archive.models import DestructionRecord, Document, Partner, RelationshipRecord

CONFIDENTIALITY_LEVELS = ("public", "internal", "secret", "confidential")
CONFIDENTIALITY_RANK = {level: rank for rank, level in enumerate(CONFIDENTIALITY_LEVELS)}
ROLES = ("staff", "manager", "archivist", "compliance", "admin")
ARCHIVE_WIDE_ROLES = frozenset({"archivist", "compliance", "admin"})
# Work on a partner inside one's own departments: 业务人员 and 部门负责人.
DEPARTMENT_ROLES = frozenset({"staff", "manager"})
# Change any partner, whatever its department: the archive office and the leadership.
PARTNER_EDITOR_ROLES = frozenset({"archivist", "admin"})
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

    def manages(self, department: str) -> bool:
        """A 部门负责人 of this department."""
        return "manager" in self.roles and department in self.departments


def can_change_partner(user: User, *, department: str) -> bool:
    """Edit a partner, add its records: its department's staff and managers, archivists, admins."""
    if user.roles & PARTNER_EDITOR_ROLES:
        return True
    return bool(user.roles & DEPARTMENT_ROLES) and department in user.departments


def can_decide_opening(user: User, *, department: str) -> bool:
    """Approve or reject a pending partner (建档审批): its department's manager, or an admin."""
    return "admin" in user.roles or user.manages(department)


def can_change_status(user: User, *, department: str) -> bool:
    """Suspend, terminate, blacklist or resume a partner: its manager, archivists, admins."""
    return bool(user.roles & PARTNER_EDITOR_ROLES) or user.manages(department)


def can_confirm_change(user: User, *, department: str) -> bool:
    """Be the second person on a bank, credit-code or legal-representative change."""
    return bool(user.roles & PARTNER_EDITOR_ROLES) or user.manages(department)


def can_view_document(user: User, *, document_id: str, confidentiality: str, department: str) -> bool:
    if document_id in user.granted_document_ids:
        return True
    return can_view_record(user, confidentiality=confidentiality, department=department)


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


def _by_rule(
    user: User, *, confidentiality: ColumnElement[str], department: ColumnElement[str | None]
) -> ColumnElement[bool]:
    """Clearance and reach, without borrow grants."""
    allowed_levels = [
        level for level in CONFIDENTIALITY_LEVELS if CONFIDENTIALITY_RANK[level] <= user.clearance_rank
    ]
    if user.sees_all_departments:
        reach: ColumnElement[bool] = true()
    else:
        reach = or_(
            confidentiality == "public",
            department.in_(sorted(user.departments)) if user.departments else false(),
        )
    return and_(confidentiality.in_(allowed_levels), reach)


def visibility_clause(
    user: User,
    *,
    confidentiality: ColumnElement[str],
    department: ColumnElement[str | None],
    document_id: ColumnElement[str],
) -> ColumnElement[bool]:
    """The rule as a SQL condition on any table that describes documents by these columns."""
    by_rule = _by_rule(user, confidentiality=confidentiality, department=department)
    if not user.granted_document_ids:
        return by_rule
    return or_(by_rule, document_id.in_(sorted(user.granted_document_ids)))


def document_visibility_clause(user: User) -> ColumnElement[bool]:
    """The rule as a SQL condition on `Document`, for listings served from the record."""
    return visibility_clause(
        user,
        confidentiality=Document.confidentiality,
        department=Document.department,
        document_id=Document.id,
    )


def current_document_clause(user: User) -> ColumnElement[bool]:
    """Not superseded by a document `user` sees: a newer one hidden from them changes nothing
    they can see (their list does not lose the older one to something they cannot open)."""
    newer = aliased(Document)
    return or_(
        Document.superseded_by.is_(None),
        ~exists(
            select(newer.id).where(
                newer.id == Document.superseded_by,
                visibility_clause(
                    user,
                    confidentiality=newer.confidentiality,
                    department=newer.department,
                    document_id=newer.id,
                ),
            )
        ),
    )


def visible_superseder(session: Session, user: User, superseded_by: str | None) -> str | None:
    """The id of the document that replaces one, if `user` may see it; else as if there were none."""
    if superseded_by is None:
        return None
    return session.scalar(
        select(Document.id).where(Document.id == superseded_by, document_visibility_clause(user))
    )


def without_grants(user: User) -> User:
    """The same user judged by the rule alone: what an approver's own reach is."""
    return User(sub=user.sub, roles=user.roles, departments=user.departments, clearance=user.clearance)


def record_visibility_clause(user: User) -> ColumnElement[bool]:
    """The same rule on `RelationshipRecord` (borrow grants are for documents only)."""
    return _by_rule(
        user, confidentiality=RelationshipRecord.confidentiality, department=RelationshipRecord.department
    )


def can_view_record(user: User, *, confidentiality: str, department: str) -> bool:
    """The rule without borrow grants: a relationship record, or a document by its level."""
    if user.clearance_rank < CONFIDENTIALITY_RANK[confidentiality]:
        return False
    return user.sees_all_departments or department in user.departments or confidentiality == "public"


def destruction_record_visibility_clause(user: User) -> ColumnElement[bool]:
    """The rule for what a destroyed document leaves behind: as the document itself was seen.

    Records kept before their department was noted are for the archive-wide roles only.
    """
    allowed_levels = [
        level for level in CONFIDENTIALITY_LEVELS if CONFIDENTIALITY_RANK[level] <= user.clearance_rank
    ]
    if user.sees_all_departments:
        reach: ColumnElement[bool] = true()
    else:
        reach = or_(
            and_(DestructionRecord.confidentiality == "public", DestructionRecord.department.is_not(None)),
            DestructionRecord.department.in_(sorted(user.departments)) if user.departments else false(),
        )
    return and_(DestructionRecord.confidentiality.in_(allowed_levels), reach)


def partner_visibility_clause(user: User) -> ColumnElement[bool]:
    """A partner is visible by department, by role, or through any document the user sees."""
    if user.sees_all_departments:
        return true()
    sees_a_document = exists(
        select(Document.id).where(Document.partner_id == Partner.id, document_visibility_clause(user))
    )
    by_department = Partner.department.in_(sorted(user.departments)) if user.departments else false()
    return or_(by_department, sees_a_document)


def masks_id_numbers_for(user: User) -> bool:
    """Whether lists and exports across documents show this user ID numbers masked."""
    return not user.roles & UNMASKED_ROLES


def sees_id_numbers(user: User, document_id: str) -> bool:
    return bool(user.roles & UNMASKED_ROLES) or document_id in user.granted_document_ids
