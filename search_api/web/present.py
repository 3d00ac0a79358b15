"""What people read instead of what the code stores: labels for keys, names and archive
numbers for ids, local times, and each value read from a document with how sure it is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import (
    AuditEntry,
    BorrowRequest,
    DestructionRecord,
    DestructionRequest,
    Document,
    Partner,
)
from archive.permissions import User, can_view_document
from search_api.web.i18n import LABELS, labeller, translator

HEX_ID = re.compile(r"^[0-9a-f]{32}$")

# Identifiers whose check character proves the reading (GB 32100, GB 11643, the 注册号's).
CHECKED_FIELDS = frozenset({"credit_code", "id_number", "registration_no"})
# Which read fields a cross-check finding rests on.
FLAG_FIELDS = {
    "credit_code_mismatch": ("credit_code",),
    "name_mismatch": ("name",),
    "party_mismatch": ("party_a", "party_b"),
}
# The order a person reads a document's fields in; others follow alphabetically.
_FIELD_ORDER = tuple(LABELS["field"])


# "中文说明 (English explanation)", as messages are written throughout the code.
_BILINGUAL = re.compile(r"^(?P<zh>.*?)\s*[(（](?P<en>[^()（）]*[A-Za-z][^()（）]*)[)）]\s*$", re.S)
_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:name|amount|address)\b")


def message_in(lang: str, text: str) -> str:
    """One language of a bilingual message: the Chinese part, or the English with labels for keys."""
    match = _BILINGUAL.match(text)
    if match is None or not match.group("zh").strip():
        return text
    if lang != "en":
        return match.group("zh").strip()
    english = match.group("en").strip()
    return _KEY.sub(lambda key: _english_label(key.group()), english)


def _english_label(key: str) -> str:
    for group in ("field", "document_field", "partner_field"):
        if key in LABELS[group]:
            return LABELS[group][key][1].lower()
    return key


def local_time(zone: ZoneInfo) -> Callable[..., str]:
    """`when(dt)` → "2026-12-02 09:04" in the office's zone; stored times are UTC."""

    def when(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        if not isinstance(value, datetime):
            return value.isoformat()
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime(fmt)

    return when


def field_label(lang: str, doc_type: str | None, key: str) -> str:
    """A read field's name as the office says it; 姓名 on an ID card, 名称 elsewhere."""
    if key == "name" and doc_type == "id_card":
        return "Name" if lang == "en" else "姓名"
    if key == "issued_on" and doc_type == "contract":
        return "Term starts" if lang == "en" else "合同期限起"
    if key == "perpetual" and doc_type == "business_license":
        return "Business term" if lang == "en" else "营业期限"
    return labeller(lang)("field", key)


def yes_no(lang: str, value: bool) -> str:
    return ("Yes" if value else "No") if lang == "en" else ("是" if value else "否")


# Fields kept as a decimal number of 元 ("5000000.00").
AMOUNT_FIELDS = frozenset({"amount", "registered_capital"})


def field_value(lang: str, key: str, value: Any) -> str:
    """A read value for people: 长期 for a perpetual term, 元 amounts with separators."""
    if key == "perpetual":
        return ("Long-term" if lang == "en" else "长期") if value is True else "—"
    if isinstance(value, bool):
        return yes_no(lang, value)
    if key in AMOUNT_FIELDS and isinstance(value, str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return value
        return f"¥{amount:,.2f}" if lang == "en" else f"{amount:,.2f} 元"
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    if value is None or value == "":
        return "—"
    return str(value)


# How sure a value is, in the words on the document page.
CERTAINTY_WORDS = {
    "supplied": "人工确认",
    "checked": "已核验",
    "read": "已读取",
    "review": "需核对",
    "unread": "未能识别",
}


@dataclass(frozen=True)
class Reading:
    """One field of a document as the page shows it: value, how sure, and why."""

    key: str
    label: str
    value: str
    certainty: str  # "supplied" | "checked" | "read" | "review" | "unread"
    notes: tuple[str, ...]
    page: int | None = None
    confidence: float | None = None


def readings(
    document: Document, *, lang: str, shown: Callable[[str], str], when: Callable[..., str]
) -> list[Reading]:
    """Every field read from the document or supplied for it, and every field that could not be read."""
    t = translator(lang)
    fields = document.fields or {}
    provenance = document.field_provenance or {}
    problems = document.field_problems or {}
    page_sources = {page.number: page.source for page in document.page_texts}
    flagged: dict[str, list[str]] = {}
    for flag in document.flags or []:
        for key in FLAG_FIELDS.get(str(flag.get("kind")), ()):
            flagged.setdefault(key, []).append(shown(message_in(lang, str(flag.get("message", "")))))
    rows: list[Reading] = []
    for key in _ordered(list(fields) + [k for k in problems if k not in fields]):
        label = field_label(lang, document.doc_type, key)
        if key not in fields:
            rows.append(Reading(key, label, "—", "unread", (shown(message_in(lang, str(problems[key]))),)))
            continue
        value = fields[key]
        entry = provenance.get(key) or {}
        page = entry.get("page")
        page_source = entry.get("page_source") or page_sources.get(page)
        notes: list[str] = []
        if entry.get("source") == "supplied":
            certainty = "supplied"
            who = entry.get("by")
            at = entry.get("at")
            stamp = when(datetime.fromisoformat(at)) if isinstance(at, str) else ""
            notes.append(t("人工填写") + (f"（{who}{' · ' + stamp if stamp else ''}）" if who else ""))
        elif entry.get("needs_review") or key in flagged:
            certainty = "review"
            if entry.get("needs_review"):
                notes.append(t("OCR 识别的文字，无法自动核对，请人工确认"))
        elif key in CHECKED_FIELDS:
            certainty = "checked"
            notes.append(t("校验位核对无误"))
        else:
            certainty = "read"
        if entry.get("corrected"):
            raw = entry.get("raw")
            notes.append(
                t("OCR 误读已按校验位纠正") + (f"（{t('原读作')} {shown(str(raw))}）" if raw else "")
            )
        elif entry.get("raw") and certainty != "supplied" and str(entry["raw"]) != str(value):
            notes.append(f"{t('原文')}：{shown(str(entry['raw']))}")
        if entry.get("method") == "second_pass":
            notes.append(t("二次识别"))
        elif entry.get("method") == "place":
            notes.append(t("按位置推断，未读到标签"))
        notes.extend(flagged.get(key, ()))
        if page and certainty != "supplied":
            source = labeller(lang)("page_source", page_source) if page_source else ""
            notes.append(t("第 {n} 页", n=page) + (f" · {source}" if source else ""))
        confidence = entry.get("confidence")
        rows.append(
            Reading(
                key,
                label,
                shown(field_value(lang, key, value)),
                certainty,
                tuple(notes),
                page=page if isinstance(page, int) else None,
                confidence=float(confidence) if isinstance(confidence, int | float) else None,
            )
        )
    return rows


def _ordered(keys: Iterable[str]) -> list[str]:
    known = [key for key in _FIELD_ORDER if key in keys]
    return known + sorted(key for key in set(keys) if key not in _FIELD_ORDER)


# ---------------------------------------------------------------- names for ids


@dataclass
class Names:
    """Ids turned into what people call them, looked up once per page.

    A document the viewer may not open is named by nothing but that fact.
    """

    lang: str
    documents: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id → (text, link)
    partners: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    others: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def document(self, document_id: str) -> tuple[str, str | None]:
        return (
            self.documents.get(document_id)
            or self.others.get(document_id)
            or (
                translator(self.lang)("（已删除的文档）"),
                None,
            )
        )

    def any(self, value: str) -> tuple[str, str | None]:
        for table in (self.documents, self.partners, self.others):
            if value in table:
                return table[value]
        return (value, None)


def resolve_names(session: Session, *, user: User, lang: str, ids: Iterable[str]) -> Names:
    """Names for documents, partners, requests and destroyed documents among `ids`."""
    t = translator(lang)
    wanted = sorted({value for value in ids if isinstance(value, str) and HEX_ID.match(value)})
    names = Names(lang)
    if not wanted:
        return names
    for document in session.scalars(select(Document).where(Document.id.in_(wanted))):
        if can_view_document(
            user,
            document_id=document.id,
            confidentiality=document.confidentiality,
            department=document.department,
        ):
            names.documents[document.id] = (
                f"{document.archive_no} {document.title}",
                f"/documents/{document.id}",
            )
        else:
            names.documents[document.id] = (t("（无权查看的文档）"), None)
    for record in session.scalars(select(DestructionRecord).where(DestructionRecord.document_id.in_(wanted))):
        if user.has_role("archivist", "admin", "compliance") and user.clearance_rank >= _rank(
            record.confidentiality
        ):
            names.others[record.document_id] = (f"{record.archive_no} {record.title}（{t('已销毁')}）", None)
        else:
            names.others[record.document_id] = (t("（已销毁的文档）"), None)
    for partner in session.scalars(select(Partner).where(Partner.id.in_(wanted))):
        names.partners[partner.id] = (f"{partner.name}（{partner.archive_no}）", f"/partners/{partner.id}")
    for borrow in session.scalars(select(BorrowRequest).where(BorrowRequest.id.in_(wanted))):
        names.others[borrow.id] = (
            f"{t('借阅申请')}（{borrow.requester} · {borrow.created_at.strftime('%Y-%m-%d')}）",
            "/borrowing",
        )
    for destruction in session.scalars(select(DestructionRequest).where(DestructionRequest.id.in_(wanted))):
        names.others[destruction.id] = (
            f"{t('销毁申请')}（{destruction.requested_by} · {destruction.created_at.strftime('%Y-%m-%d')}）",
            f"/destruction#request-{destruction.id}",
        )
    return names


def _rank(level: str) -> int:
    from archive.permissions import CONFIDENTIALITY_RANK

    return CONFIDENTIALITY_RANK.get(level, len(CONFIDENTIALITY_RANK))


# ---------------------------------------------------------------- changes and the audit log

_DETAIL_WORDS = {
    "q": "关键词",
    "total": "结果数",
    "returned": "返回条数",
    "rows": "行数",
    "format": "格式",
    "kind": "类型",
    "doc_type": "文档类型",
    "department": "部门",
    "confidentiality": "密级",
    "filename": "文件名",
    "sha256": "SHA-256",
    "size": "大小（字节）",
    "duplicate": "重复文件",
    "partner_id": "所属客商",
    "document_ids": "文档",
    "documents": "文档",
    "reason": "理由",
    "note": "审批意见",
    "requester": "申请人",
    "days": "天数",
    "name": "名称",
    "archive_no": "档案编号",
    "user": "用户",
    "action": "操作",
    "since": "起始时间",
    "page": "页码",
    "year": "年度",
    "report": "报表",
    "license_no": "执照号码",
    "within_days": "天数范围",
    "missing_licence": "缺营业执照",
    "missing_bank_info": "缺银行信息",
    "expiring": "即将到期",
    "rating": "信用等级",
    "score": "评分",
    "period": "期间",
    "channel": "渠道",
    "expires_on": "到期日期",
    "title": "题名",
    "legal_hold": "诉讼保全",
    "credit_rating": "信用等级",
    "min_score": "最低评分",
    "filters": "筛选条件",
    "partner": "客商",
    "status": "状态",
    "comment": "意见",
    "error": "错误",
    "fields": "识别内容",
    "decision": "处理结果",
    "field": "字段",
    "retention": "保管期限",
}
_VALUE_GROUPS = {
    "retention": "retention",
    # A review decision, as the review queue records it in a field's change.
    "decision": "decision",
    "doc_type": "doc_type",
    "kind": "kind",
    "confidentiality": "confidentiality",
    "status": "status",
}


def value_text(lang: str, key: str, value: Any, names: Names | None = None) -> str:
    """One stored value in words: labels for codes, names for ids, 是/否, — for nothing."""
    label = labeller(lang)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(lang, value)
    if key in _VALUE_GROUPS and isinstance(value, str):
        return label(_VALUE_GROUPS[key], value)
    if key == "action" and isinstance(value, str):
        return label("action", value)
    if isinstance(value, str) and names is not None and HEX_ID.match(value):
        return names.any(value)[0]
    if isinstance(value, list):
        return "、".join(value_text(lang, key, item, names) for item in value)
    if isinstance(value, dict):
        if {"old", "new"} <= set(value) <= {"old", "new", "decision"}:
            old, new = (value_text(lang, key, value.get(side), names) for side in ("old", "new"))
            verdict = value_text(lang, "decision", value["decision"]) if value.get("decision") else ""
            return f"{old} → {new}" + (f"（{verdict}）" if verdict else "")
        if "archive_no" in value:
            return str(value["archive_no"])
        return "；".join(
            f"{detail_label(lang, k)}：{value_text(lang, k, v, names)}" for k, v in value.items()
        )
    return str(value)


def detail_label(lang: str, key: str) -> str:
    for group in ("document_field", "partner_field", "field"):
        if key in LABELS[group]:
            return labeller(lang)(group, key)
    word = _DETAIL_WORDS.get(key)
    if word is None:
        return key
    return translator(lang)(word)


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


def describe_changes(
    lang: str, group: str, changes: dict[str, Any], names: Names | None = None
) -> list[Change]:
    """`{"contact_person": {"old": None, "new": "林"}}` → 联系人: — → 林."""
    label = labeller(lang)
    described = []
    for key in sorted(changes):
        diff = changes[key]
        if not isinstance(diff, dict):
            continue
        name = label(group, key) if key in LABELS.get(group, {}) else detail_label(lang, key)
        described.append(
            Change(
                name,
                value_text(lang, key, diff.get("old"), names),
                value_text(lang, key, diff.get("new"), names),
            )
        )
    return described


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    user: str
    action: str
    action_label: str
    target: str
    target_href: str | None
    details: list[tuple[str, str]]


def describe_entries(
    session: Session, *, user: User, lang: str, entries: Sequence[AuditEntry]
) -> list[AuditLine]:
    """Audit entries in words: the action's name, the target's name or archive number."""
    ids: set[str] = set()
    for entry in entries:
        if entry.target:
            ids.add(entry.target)
        ids.update(_ids_in(entry.details))
    names = resolve_names(session, user=user, lang=lang, ids=ids)
    label = labeller(lang)
    lines = []
    for entry in entries:
        target, href = ("", None)
        if entry.target:
            target, href = names.any(entry.target)
            if target == entry.target and entry.action == "report":
                target = label("report", entry.target)
            elif target == entry.target and HEX_ID.match(entry.target):
                target = translator(lang)("（已删除）")
        details = [
            (detail_label(lang, key), value_text(lang, key, value, names))
            for key, value in sorted((entry.details or {}).items())
            if value is not None and value != [] and value != {}
        ]
        lines.append(
            AuditLine(
                entry.at, entry.user, entry.action, label("action", entry.action), target, href, details
            )
        )
    return lines


def _ids_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        if HEX_ID.match(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ids_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item)


def audit_actions() -> list[str]:
    """Every action the 操作 filter offers, by its Chinese name."""
    return list(LABELS["action"])


# ---------------------------------------------------------------- validation errors

_PROBLEMS = {
    "missing": ("必填", "required"),
    "string_too_short": ("不能为空", "may not be empty"),
    "string_too_long": ("最多 {max_length} 个字符", "at most {max_length} characters"),
    "enum": ("取值无效", "not one of the allowed values"),
    "literal_error": ("取值无效", "not one of the allowed values"),
    "int_parsing": ("应为整数", "must be a whole number"),
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "date_parsing": ("日期格式应为 2026-01-31", "a date like 2026-01-31"),
    "date_from_datetime_parsing": ("日期格式应为 2026-01-31", "a date like 2026-01-31"),
    "bool_parsing": ("应为是或否", "must be yes or no"),
}


def validation_message(lang: str, errors: Sequence[Any], *, group: str = "partner_field") -> str:
    """Pydantic's errors as a person reads them: `统一社会信用代码：校验位不符…`, never a key."""
    parts = []
    for error in errors:
        location = [
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "form", "path")
        ]
        key = location[-1] if location else ""
        if key in LABELS.get(group, {}):
            name = labeller(lang)(group, key)
        elif key:
            name = detail_label(lang, key)
        else:
            name = ""
        kind = str(error.get("type", ""))
        context = error.get("ctx") or {}
        if kind == "value_error" and key == "email":
            text = (
                "邮箱格式不正确 (not a valid e-mail address)"
                if lang != "en"
                else "not a valid e-mail address"
            )
        elif kind in _PROBLEMS:
            zh, en = _PROBLEMS[kind]
            text = (en if lang == "en" else zh).format(**{k: v for k, v in context.items()})
        else:
            text = str(error.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{name}：{text}" if name else text)
    return "；".join(parts)
