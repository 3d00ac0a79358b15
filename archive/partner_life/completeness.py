"""齐全: what a partner's file must hold, by kind, and whether each item is there.

Each item is `present` (with the document that satisfies it), `missing`, `expired`, or
`unreadable` (a file that failed, is still being read, or whose validity could not be
read); an item that does not apply is listed as `not_required` with why. Only documents
the caller may see count: what is hidden does not exist for them, here as everywhere.
The annual review (archive/reports.py) asks the same questions through `assess_partners`.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.errors import Forbidden
from archive.models import Document, Partner
from archive.partner_life.items import ITEMS, REGISTRATION_FIELDS
from archive.partners import get_visible_partner
from archive.permissions import (
    User,
    current_document_clause,
    document_visibility_clause,
    partner_visibility_clause,
)
from archive.schemas import (
    Completeness,
    CompletenessDocument,
    CompletenessItem,
    IncompleteList,
    IncompletePartner,
)
from archive.settings import Settings
from archive.supersession import awaiting_confirmation_clause

# Documents whose validity is their expiry: one whose expiry could not be read (and that is
# not 长期) cannot be judged valid.
_EXPIRY_DECIDES = frozenset({"business_license", "id_card"})
_DOC_TYPES = ("business_license", "bank_account", "id_card", "authorization", "contract")
# Partners whose file is still being kept: the incomplete list leaves out the others.
LIVE_STATUSES = ("pending", "active", "suspended")
VIEWERS = ("manager", "archivist", "compliance", "admin")


@dataclass(frozen=True)
class _Verdict:
    status: str
    document: Document | None = None
    note: str | None = None


def _expiry(document: Document) -> date | None:
    if document.expires_on is not None:
        return document.expires_on
    value = (document.fields or {}).get("expires_on")
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _perpetual(document: Document) -> bool:
    return (document.fields or {}).get("perpetual") is True


def _documents_verdict(
    documents: Sequence[Document], *, doc_type: str, on: date, untrusted: frozenset[str] = frozenset()
) -> _Verdict:
    """The best a partner's documents of one type can say: valid, else expired, else unreadable."""
    valid: list[Document] = []
    expired: list[Document] = []
    unreadable: list[tuple[Document, str]] = []
    for document in documents:
        if document.id in untrusted:
            # A licence that would replace another uploader's waits for an archivist: until then
            # it does not make its partner look licensed (a forged one must not).
            unreadable.append((document, "等待档案管理员确认 (awaiting an archivist's confirmation)"))
        elif document.status == "failed":
            unreadable.append((document, "文件无法读取 (the file could not be read)"))
        elif document.status != "indexed":
            unreadable.append((document, "正在处理，尚未读取 (still being read)"))
        elif _perpetual(document):
            valid.append(document)
        elif (expires_on := _expiry(document)) is None:
            if doc_type in _EXPIRY_DECIDES:
                unreadable.append(
                    (document, "有效期未能读出，请人工补录 (expiry could not be read; supply it)")
                )
            else:
                valid.append(document)
        elif expires_on >= on:
            valid.append(document)
        else:
            expired.append(document)
    if valid:
        # The one that lasts longest answers for the item.
        best = max(valid, key=lambda d: (_perpetual(d), _expiry(d) or date.max))
        return _Verdict("present", best)
    if expired:
        latest = max(expired, key=lambda d: _expiry(d) or date.min)
        return _Verdict("expired", latest, f"已于 {_expiry(latest)} 过期 (expired)")
    if unreadable:
        document, why = unreadable[0]
        return _Verdict("unreadable", document, why)
    return _Verdict("missing")


def _same_person(a: str, b: str) -> bool:
    def plain(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name).split())

    return plain(a) == plain(b)


def _authorization(
    partner: Partner, by_type: dict[str, list[Document]], licence: _Verdict, on: date
) -> _Verdict:
    """Needed when someone other than the legal representative signs for the partner."""
    id_cards = [d for d in by_type["id_card"] if d.status == "indexed"]
    contracts = [d for d in by_type["contract"] if d.status == "indexed"]
    signatories = {
        name.strip()
        for document in [*id_cards, *contracts]
        if isinstance(
            name := (document.fields or {}).get("name" if document.doc_type == "id_card" else "signatory"),
            str,
        )
        and name.strip()
    }
    if not signatories:
        why = (
            "身份证上的姓名未能读出，无法判断是否需要 (the ID card's name could not be read)"
            if id_cards
            else "签约人身份证未存档，无法判断是否需要"
            " (no signatory ID on file; cannot tell whether it is needed)"
        )
        return _Verdict("unreadable", None, why)
    licence_fields = (licence.document.fields or {}) if licence.document is not None else {}
    legal = licence_fields.get("legal_representative") or partner.legal_representative
    if not legal:
        return _Verdict("unreadable", None, "法定代表人未知，无法判断是否需要 (legal representative unknown)")
    others = sorted(name for name in signatories if not _same_person(name, legal))
    if not others:
        return _Verdict(
            "not_required", None, f"签约人即法定代表人 {legal} (the signatory is the legal representative)"
        )
    verdict = _documents_verdict(by_type["authorization"], doc_type="authorization", on=on)
    note = (
        f"签约人 {'、'.join(others)} 不是法定代表人 {legal} (the signatory is not the legal representative)"
    )
    return _Verdict(verdict.status, verdict.document, f"{note}；{verdict.note}" if verdict.note else note)


def _registration_form(partner: Partner, fields: Sequence[str]) -> tuple[_Verdict, list[str]]:
    empty = [REGISTRATION_FIELDS[name] for name in fields if not (getattr(partner, name) or "").strip()]
    if empty:
        return _Verdict("missing", None, f"未填写：{'、'.join(empty)} (fields not filled)"), empty
    return _Verdict("present"), []


def _assess(
    partner: Partner,
    documents: Sequence[Document],
    *,
    settings: Settings,
    on: date,
    untrusted: frozenset[str] = frozenset(),
) -> list[CompletenessItem]:
    by_type: dict[str, list[Document]] = defaultdict(list)
    for document in documents:
        by_type[document.doc_type].append(document)
    licence = _documents_verdict(
        by_type["business_license"], doc_type="business_license", on=on, untrusted=untrusted
    )
    items: list[CompletenessItem] = []
    for code in settings.completeness_rules.get(partner.kind, []):
        missing_fields: list[str] = []
        if code == "business_license":
            verdict = licence
        elif code == "bank_account":
            verdict = _documents_verdict(by_type["bank_account"], doc_type="bank_account", on=on)
            if verdict.status != "present" and (partner.bank_account or "").strip():
                verdict = _Verdict(
                    "present", None, "以客商登记的银行账户为准 (the bank account on the partner record)"
                )
        elif code == "signatory_id_card":
            verdict = _documents_verdict(by_type["id_card"], doc_type="id_card", on=on)
        elif code == "authorization":
            verdict = _authorization(partner, by_type, licence, on)
        else:
            verdict, missing_fields = _registration_form(partner, settings.completeness_registration_fields)
        items.append(
            CompletenessItem(
                code=code,
                name=ITEMS[code],
                required=verdict.status != "not_required",
                status=verdict.status,
                document=_document_out(verdict.document),
                note=verdict.note,
                missing_fields=missing_fields,
            )
        )
    return items


def _document_out(document: Document | None) -> CompletenessDocument | None:
    if document is None:
        return None
    return CompletenessDocument(
        id=document.id,
        archive_no=document.archive_no,
        title=document.title,
        doc_type=document.doc_type,
        expires_on=_expiry(document),
    )


def is_complete(items: Sequence[CompletenessItem]) -> bool:
    return all(item.status in ("present", "not_required") for item in items)


def assess_partners(
    session: Session, *, user: User, settings: Settings, partners: Sequence[Partner], on: date
) -> dict[str, list[CompletenessItem]]:
    """Each partner's items, from the documents the caller may see (one query for all)."""
    ids = [partner.id for partner in partners]
    documents: dict[str, list[Document]] = defaultdict(list)
    untrusted: set[str] = set()
    for start in range(0, len(ids), 500):
        for document, awaiting in session.execute(
            select(Document, awaiting_confirmation_clause().label("awaiting")).where(
                Document.partner_id.in_(ids[start : start + 500]),
                Document.doc_type.in_(_DOC_TYPES),
                current_document_clause(user),
                document_visibility_clause(user),
            )
        ):
            documents[document.partner_id].append(document)
            if awaiting:
                untrusted.add(document.id)
    return {
        partner.id: _assess(
            partner, documents[partner.id], settings=settings, on=on, untrusted=frozenset(untrusted)
        )
        for partner in partners
    }


def assess_partner(
    session: Session, *, user: User, settings: Settings, partner: Partner, on: date
) -> Completeness:
    items = assess_partners(session, user=user, settings=settings, partners=[partner], on=on)[partner.id]
    return Completeness(
        partner_id=partner.id,
        partner_name=partner.name,
        kind=partner.kind,
        department=partner.department,
        status=partner.status,
        complete=is_complete(items),
        checked_on=on,
        items=items,
    )


def partner_completeness(
    session: Session, *, user: User, settings: Settings, partner_id: str, on: date
) -> Completeness:
    partner = get_visible_partner(session, user=user, partner_id=partner_id)
    result = assess_partner(session, user=user, settings=settings, partner=partner, on=on)
    record_event(
        session,
        user=user.sub,
        action="partner_completeness",
        target=partner.id,
        details={
            "complete": result.complete,
            "problems": [i.code for i in result.items if i.status not in ("present", "not_required")],
        },
    )
    return result


def incomplete_partners(
    session: Session,
    *,
    user: User,
    settings: Settings,
    on: date,
    department: str | None = None,
    statuses: Sequence[str] = LIVE_STATUSES,
) -> IncompleteList:
    """Per department, the partners whose file lacks something: managers get their own
    departments, the archive office and compliance every partner they may see."""
    if not user.has_role(*VIEWERS):
        raise Forbidden(
            "不齐全清单供部门负责人、档案管理员、合规和管理员使用"
            " (for managers, the archive office, compliance and admins)"
        )
    conditions = [partner_visibility_clause(user), Partner.status.in_(list(statuses))]
    if not user.sees_all_departments:
        conditions.append(Partner.department.in_(sorted(user.departments)))
    if department:
        conditions.append(Partner.department == department)
    partners = list(
        session.scalars(select(Partner).where(*conditions).order_by(Partner.department, Partner.name))
    )
    assessed = assess_partners(session, user=user, settings=settings, partners=partners, on=on)
    departments: dict[str, list[IncompletePartner]] = {}
    for partner in partners:
        items = assessed[partner.id]
        if is_complete(items):
            continue
        departments.setdefault(partner.department, []).append(
            IncompletePartner(
                partner_id=partner.id,
                name=partner.name,
                number=partner.number,
                kind=partner.kind,
                department=partner.department,
                status=partner.status,
                problems=[item for item in items if item.status not in ("present", "not_required")],
            )
        )
    total = sum(len(listed) for listed in departments.values())
    record_event(
        session,
        user=user.sub,
        action="partner_incomplete_list",
        details={"department": department, "statuses": list(statuses), "incomplete": total},
    )
    return IncompleteList(checked_on=on, total=total, departments=departments)
