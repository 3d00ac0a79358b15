"""四性检测: the four properties of an electronic record (GB/T 18894-2016, DA/T 70-2018) —
真实性 authenticity, 完整性 integrity, 可用性 usability, 安全性 security — checked at intake
(归档, codes GD-…) and again in storage (长期保存, codes CC-…), each item with a result
(pass / fail / not_applicable) and the evidence it was judged on.

Item numbers follow the common reading of DA/T 70-2018's tables (property-item); where one
item of the standard is checked in parts here, the part is a suffix (GD-1-1.1, GD-1-1.2).
A document that fails stays on record, marked `check_status = failed` and listed for the
archive office; nothing is accepted silently.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.archival_codes import RETENTION_CODES, RETENTION_LABELS, ArchivalRule, group_sequence
from archive.audit import verify_entry
from archive.file_facts import facts_of_file
from archive.labels import CONFIDENTIALITY_LABELS, DOC_TYPE_LABELS
from archive.models import AuditEntry, CheckRun, DestructionRecord, Document, DocumentCheck
from archive.permissions import CONFIDENTIALITY_LEVELS
from archive.settings import Settings
from archive.storage import OriginalStore

PROPERTIES = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}
RESULTS = {"pass": "通过", "fail": "未通过", "not_applicable": "不适用"}
DOC_TYPES = (
    "business_license",
    "contract",
    "id_card",
    "bank_account",
    "authorization",
    "qualification",
    "invoice",
    "other",
)
FIELD_LABELS = {
    "credit_code": "统一社会信用代码",
    "name": "名称/姓名",
    "id_number": "公民身份号码",
    "party_a": "甲方",
    "party_b": "乙方",
    "bank_name": "开户银行",
    "account_no": "账号",
    "invoice_no": "发票号码",
    "issued_on": "日期",
    "amount": "金额",
    "seller_name": "销售方名称",
    "buyer_name": "购买方名称",
    "seller_tax_id": "销售方纳税人识别号",
    "buyer_tax_id": "购买方纳税人识别号",
    "contract_no": "合同编号",
    "certificate_no": "证书编号",
    "expires_on": "到期日期",
}
RECORD_FIELDS = {
    "title": "题名",
    "doc_type": "文档类型",
    "confidentiality": "密级",
    "department": "部门",
    "partner_id": "所属客商",
    "retention": "保管期限",
    "archival_code": "档号",
    "sha256": "SHA-256",
}
# What an item is called, by its code; the stage decides the prefix (GD at intake, CC in storage).
ITEMS: dict[str, tuple[str, str]] = {
    "1-1.1": ("authenticity", "固化信息有效性检测（数字摘要 SHA-256、SM3）"),
    "1-1.2": ("authenticity", "固化信息有效性检测（电子签名、签章）"),
    "1-4": ("authenticity", "设定值域的元数据项值域符合度检测"),
    "1-6": ("authenticity", "元数据项数据包含特殊字符检测"),
    "1-7": ("authenticity", "档号规范性检测"),
    "1-8": ("authenticity", "元数据项数据重复性检测"),
    "1-9": ("authenticity", "内容数据的电子属性一致性检测"),
    "1-10": ("authenticity", "元数据是否关联内容数据检测"),
    "2-4": ("integrity", "元数据必填著录项目检测"),
    "2-6": ("integrity", "连续性元数据项检测（件号）"),
    "2-7": ("integrity", "内容数据完整性检测（逐页）"),
    "3-3": ("usability", "内容数据格式检测"),
    "3-4": ("usability", "内容数据的可读性检测"),
    "3-6": ("usability", "加密与非公开压缩算法检测"),
    "4-2": ("security", "病毒感染检测"),
    "4-7": ("security", "操作过程安全性检测（归档留痕）"),
}
INTAKE_ITEMS = tuple(ITEMS)
STORAGE_ITEMS = ("1-1.1", "1-9", "1-10", "2-6", "3-4", "4-2")
STAGE_PREFIX = {"intake": "GD", "storage": "CC"}


@dataclass(frozen=True)
class Item:
    code: str
    property: str
    name: str
    result: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "property": self.property,
            "name": self.name,
            "result": self.result,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class RecordLookups:
    """What items 1-8 and 4-7 read from the record for a batch of documents, fetched in three
    queries instead of three per document (a bulk import checks 200 documents at a time)."""

    code_counts: dict[str, int]
    """Each archival code of the batch: how often it is on record or among the destroyed."""
    upload_entries: dict[str, AuditEntry]
    """Each document's first `upload` audit entry (none: not in the dict)."""


def record_lookups(session: Session, documents: Iterable[Document]) -> RecordLookups:
    """The lookups for `documents` as the record stands in `session` (flushed first)."""
    documents = list(documents)
    session.flush()
    codes = {document.archival_code for document in documents if document.archival_code}
    counts: dict[str, int] = dict.fromkeys(codes, 0)
    for column in (Document.archival_code, DestructionRecord.archival_code):
        for code, count in session.execute(
            select(column, func.count()).where(column.in_(codes)).group_by(column)
        ):
            counts[code] += count
    entries: dict[str, AuditEntry] = {}
    for entry in session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target.in_([document.id for document in documents]), AuditEntry.action == "upload")
        .order_by(AuditEntry.seq)
    ):
        entries.setdefault(entry.target, entry)
    return RecordLookups(code_counts=counts, upload_entries=entries)


@dataclass
class CheckInput:
    """What a check looks at besides the record: the file's facts as read now, and the
    extraction's failure (reason and message) when it failed."""

    facts: dict[str, Any]
    error_reason: str | None = None
    error: str | None = None


class _Judge:
    def __init__(self, stage: str) -> None:
        self.prefix = STAGE_PREFIX[stage]
        self.items: list[Item] = []

    def add(self, key: str, result: str, evidence: str) -> None:
        prop, name = ITEMS[key]
        self.items.append(Item(f"{self.prefix}-{key}", prop, name, result, evidence))


def evaluate(
    session: Session,
    document: Document,
    *,
    settings: Settings,
    stage: str,
    given: CheckInput,
    groups: dict[str, Any] | None = None,
    lookups: RecordLookups | None = None,
) -> list[Item]:
    """Judge every item of `stage` for one document (the record as it stands in `session`;
    `lookups`, when given, fetched from it for a batch including this document)."""
    judge = _Judge(stage)
    facts = given.facts
    intake = stage == "intake"
    recorded = document.file_properties or {}
    _fixity(judge, document, facts)
    if intake:
        # One way to read the record for items 1-8 and 4-7, for one document or a batch.
        lookups = lookups or record_lookups(session, [document])
        _signatures(judge, facts)
        _value_ranges(judge, document)
        _special_characters(judge, document)
        _code_format(judge, document, settings)
        _code_unique(judge, document, lookups)
    _properties(judge, document, facts, recorded if not intake else None)
    judge.add(
        "1-10",
        *(
            ("pass", "原件按 SHA-256 存放，存储位置与元数据一致 (stored at its content address)")
            if facts.get("stored", True)
            else ("fail", "登记的原件不在存储中 (the original is missing from the store)")
        ),
    )
    if intake:
        _required_metadata(judge, document, settings)
    _sequence(session, judge, document, groups)
    if intake:
        _pages(judge, document, facts, given)
        _format(judge, document, settings)
    _readable(judge, document, facts, given, intake=intake)
    if intake:
        _encryption(judge, facts, given)
    _virus(judge, facts.get("virus_scan") or recorded.get("virus_scan"))
    if intake:
        _audited(judge, document, settings, lookups)
    return judge.items


def _fixity(judge: _Judge, document: Document, facts: dict[str, Any]) -> None:
    sha256, sm3 = facts.get("sha256"), facts.get("sm3")
    if sha256 is None:
        judge.add("1-1.1", "fail", "原件不存在，无法计算摘要 (the original is missing; no digest)")
    elif sha256 != document.sha256:
        judge.add("1-1.1", "fail", f"SHA-256 不符：登记 {document.sha256}，实算 {sha256} (the bytes changed)")
    elif document.sm3 and sm3 != document.sm3:
        judge.add("1-1.1", "fail", f"SM3 不符：登记 {document.sm3}，实算 {sm3} (the bytes changed)")
    elif not document.sm3:
        judge.add("1-1.1", "pass", f"SHA-256 {sha256} 与登记一致；SM3 {sm3} 本次首次记录 (SM3 recorded now)")
    else:
        judge.add("1-1.1", "pass", f"SHA-256 {sha256}、SM3 {sm3} 与登记一致 (both digests match)")


def _signatures(judge: _Judge, facts: dict[str, Any]) -> None:
    signatures = facts.get("signatures") or []
    if not signatures:
        judge.add("1-1.2", "not_applicable", "文件未含电子签名或签章 (no electronic signature in the file)")
        return
    described = "；".join(
        " ".join(
            str(part)
            for part in (
                s.get("sub_filter") or s.get("type"),
                s.get("provider"),
                s.get("method"),
                s.get("time"),
            )
            if part
        )
        for s in signatures
    )
    judge.add(
        "1-1.2",
        "pass",
        f"检出 {len(signatures)} 个电子签名/签章：{described}；已检出并记录，"
        "未验证证书链 (detected and recorded; the certificate chain was not validated)",
    )


def _value_ranges(judge: _Judge, document: Document) -> None:
    wrong = [
        f"{label}={value}"
        for label, value, allowed in (
            ("文档类型", document.doc_type, DOC_TYPES),
            ("密级", document.confidentiality, CONFIDENTIALITY_LEVELS),
            ("保管期限", document.retention, RETENTION_CODES),
        )
        if value not in allowed
    ]
    judge.add(
        "1-4",
        "fail" if wrong else "pass",
        f"超出值域 (out of range): {', '.join(wrong)}"
        if wrong
        else f"文档类型「{DOC_TYPE_LABELS.get(document.doc_type, document.doc_type)}」、"
        f"密级「{CONFIDENTIALITY_LABELS[document.confidentiality]}」、"
        f"保管期限「{RETENTION_LABELS[document.retention]}」均在值域内",
    )


def _special_characters(judge: _Judge, document: Document) -> None:
    bad = [
        label
        for label, text in (("题名", document.title), ("原始文件名", document.original_filename))
        if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") for char in text or "")
    ]
    judge.add(
        "1-6",
        "fail" if bad else "pass",
        f"含控制或不可见字符 (control characters): {', '.join(bad)}" if bad else "题名与文件名无特殊字符",
    )


def _code_format(judge: _Judge, document: Document, settings: Settings) -> None:
    code = document.archival_code
    if not code:
        judge.add("1-7", "fail", "未编档号 (no archival code)")
    elif not ArchivalRule.from_settings(settings).pattern().match(code):
        judge.add("1-7", "fail", f"档号 {code} 不符合编制规则 {settings.archival_code_format}")
    else:
        judge.add("1-7", "pass", f"档号 {code} 符合规则 {settings.archival_code_format}（DA/T 22-2015）")


def _code_unique(judge: _Judge, document: Document, lookups: RecordLookups) -> None:
    if not document.archival_code:
        judge.add("1-8", "fail", "未编档号，无法检测重复 (no archival code)")
        return
    total = lookups.code_counts[document.archival_code]
    judge.add(
        "1-8",
        "pass" if total == 1 else "fail",
        f"档号 {document.archival_code} 唯一"
        if total == 1
        else f"档号 {document.archival_code} 出现 {total} 次 (duplicated)",
    )


def _properties(
    judge: _Judge, document: Document, facts: dict[str, Any], recorded: dict[str, Any] | None
) -> None:
    if facts.get("sha256") is None:
        judge.add("1-9", "fail", "原件缺失 (the original is missing)")
        return
    if facts.get("encrypted") or facts.get("problems"):
        why = "文件已加密" if facts.get("encrypted") else "；".join(facts["problems"])
        judge.add("1-9", "fail", f"无法读取文件的电子属性，无从核对 (properties unreadable): {why}")
        return
    differences = []
    if facts.get("size") != document.size_bytes:
        differences.append(f"大小 登记 {document.size_bytes} / 实际 {facts.get('size')}")
    if facts.get("media_type") != document.media_type:
        differences.append(f"类型 登记 {document.media_type} / 按内容 {facts.get('media_type')}")
    declared, loadable = facts.get("pages_declared"), facts.get("pages_loadable")
    if declared is not None and loadable is not None and declared != loadable:
        differences.append(f"页数 声明 {declared} / 实有 {loadable}")
    if (
        document.pages is not None
        and loadable is not None
        and document.media_type != "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        and document.pages != loadable
    ):
        differences.append(f"页数 登记 {document.pages} / 实有 {loadable}")
    if recorded:
        for key, label in (("created", "创建时间"), ("producer", "生成软件"), ("pages_declared", "声明页数")):
            if key in recorded and recorded.get(key) != facts.get(key):
                differences.append(f"{label} 归档时 {recorded.get(key)} / 现在 {facts.get(key)}")
    if differences:
        judge.add("1-9", "fail", "电子属性与登记不符 (properties disagree): " + "；".join(differences))
    else:
        judge.add(
            "1-9",
            "pass",
            f"大小 {facts.get('size')} 字节、类型 {facts.get('media_type')}、页数 {loadable}、"
            f"创建时间 {facts.get('created') or '未记载'}、"
            f"生成软件 {facts.get('producer') or '未记载'}，与登记一致",
        )


def _required_metadata(judge: _Judge, document: Document, settings: Settings) -> None:
    missing = [label for name, label in RECORD_FIELDS.items() if not getattr(document, name)]
    fields = document.fields or {}
    problems = document.field_problems or {}
    for name in settings.required_fields.get(document.doc_type, []):
        if fields.get(name) in (None, ""):
            why = problems.get(name)
            missing.append(FIELD_LABELS.get(name, name) + (f"（{why}）" if why else ""))
    if document.status != "indexed" and not missing:
        judge.add("2-4", "fail", "文档未能读取，字段无从著录 (the document could not be read)")
    elif missing:
        judge.add("2-4", "fail", "缺少必填著录项 (missing): " + "；".join(missing))
    else:
        required = [FIELD_LABELS.get(n, n) for n in settings.required_fields.get(document.doc_type, [])]
        kind = DOC_TYPE_LABELS.get(document.doc_type, document.doc_type)
        listed = f"；{kind}必填字段齐全：{'、'.join(required)}" if required else ""
        judge.add("2-4", "pass", "登记项齐全" + listed)


def _sequence(session: Session, judge: _Judge, document: Document, groups: dict[str, Any] | None) -> None:
    group = document.archival_group
    if not group:
        judge.add("2-6", "fail", "未编件号 (no item number)")
        return
    finding = groups.get(group) if groups is not None else None
    if finding is None:
        finding = group_sequence(session, group)
        if groups is not None:
            groups[group] = finding
    if finding.intact:
        judge.add(
            "2-6",
            "pass",
            f"{group} 组件号 0001–{finding.highest:04d} 连续无重号"
            f"（含已销毁 {finding.destroyed} 件）",
        )
    else:
        parts = []
        if finding.missing:
            parts.append("缺号 " + "、".join(f"{n:04d}" for n in finding.missing[:20]))
        if finding.duplicated:
            parts.append("重号 " + "、".join(f"{n:04d}" for n in finding.duplicated[:20]))
        judge.add("2-6", "fail", f"{group} 组件号不连续 (gaps or duplicates): " + "；".join(parts))


def _pages(judge: _Judge, document: Document, facts: dict[str, Any], given: CheckInput) -> None:
    if given.error_reason in ("page_count_mismatch", "external_reference", "too_many_pages"):
        judge.add("2-7", "fail", given.error or "")
        return
    if document.status != "indexed":
        judge.add("2-7", "fail", f"未能逐页读取 (pages not read): {given.error or document.error or ''}")
        return
    pages = document.page_texts
    by_source = {
        "text": sum(1 for p in pages if p.source == "text"),
        "ocr": sum(1 for p in pages if p.source == "ocr"),
    }
    loadable = facts.get("pages_loadable")
    numbers = [p.number for p in pages]
    if numbers != list(range(1, len(numbers) + 1)) or (
        loadable is not None
        and len(numbers) != loadable
        and document.media_type != "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ):
        judge.add(
            "2-7", "fail", f"页面不全：文件 {loadable} 页，已读 {len(numbers)} 页 (pages unaccounted for)"
        )
    else:
        judge.add(
            "2-7",
            "pass",
            f"共 {len(numbers)} 页全部读取：文字层 {by_source['text']} 页，OCR {by_source['ocr']} 页",
        )


def _format(judge: _Judge, document: Document, settings: Settings) -> None:
    accepted = settings.archival_formats
    if document.media_type in accepted:
        judge.add("3-3", "pass", f"{document.media_type} 在长期保存格式清单内")
    else:
        judge.add(
            "3-3",
            "fail",
            f"{document.media_type} 不在长期保存格式清单（{', '.join(accepted)}）内，"
            "应转换为 OFD、PDF 等版式格式 (not an accepted long-term format)",
        )


def _readable(
    judge: _Judge, document: Document, facts: dict[str, Any], given: CheckInput, *, intake: bool
) -> None:
    problems = facts.get("problems") or []
    if facts.get("sha256") is None:
        judge.add("3-4", "fail", "原件缺失，无法打开 (the original is missing)")
    elif facts.get("encrypted"):
        judge.add("3-4", "fail", "文件已加密，无法打开 (encrypted: cannot be opened)")
    elif given.error or (intake and document.status == "failed"):
        judge.add("3-4", "fail", f"无法打开或读取 (cannot be opened): {given.error or document.error}")
    elif problems:
        judge.add("3-4", "fail", "；".join(problems))
    elif intake and not any((p.text or "").strip() for p in document.page_texts):
        judge.add("3-4", "fail", "文件可以打开，但未提取到任何文字 (no text extracted)")
    elif intake:
        characters = sum(len((p.text or "").strip()) for p in document.page_texts)
        judge.add("3-4", "pass", f"文件可正常打开，提取文字 {characters} 字")
    else:
        judge.add("3-4", "pass", f"文件可正常打开，{facts.get('pages_loadable')} 页均可载入")


def _encryption(judge: _Judge, facts: dict[str, Any], given: CheckInput) -> None:
    if facts.get("encrypted") or given.error_reason == "encrypted":
        judge.add("3-6", "fail", "文件已加密 (encrypted)")
    elif facts.get("non_public_compression"):
        judge.add(
            "3-6", "fail", f"使用非公开压缩算法 (non-public compression): {facts['non_public_compression']}"
        )
    else:
        judge.add("3-6", "pass", "未加密，未使用非公开压缩算法")


def _virus(judge: _Judge, scan: dict[str, Any] | None) -> None:
    if not scan or scan.get("result") == "not_configured":
        judge.add(
            "4-2",
            "not_applicable",
            "未配置病毒扫描 (ClamAV is not configured: set PARTNER_ARCHIVE_CLAMD_SOCKET"
            " or PARTNER_ARCHIVE_CLAMSCAN_COMMAND)",
        )
    elif scan.get("result") == "clean":
        judge.add("4-2", "pass", f"{scan.get('engine')} 扫描未发现病毒 ({scan.get('at', '')})")
    elif scan.get("result") == "infected":
        judge.add("4-2", "fail", f"{scan.get('engine')} 检出 {scan.get('signature')}")
    else:
        judge.add(
            "4-2", "fail", f"病毒扫描未能完成，需人工复查 (the scan did not complete): {scan.get('detail')}"
        )


def _audited(judge: _Judge, document: Document, settings: Settings, lookups: RecordLookups) -> None:
    entry = lookups.upload_entries.get(document.id)
    if entry is None:
        judge.add("4-7", "fail", "审计日志中没有该文件的归档记录 (no upload entry in the audit log)")
    elif not verify_entry(entry):
        judge.add("4-7", "fail", f"审计记录 #{entry.seq} 的哈希不符 (the audit entry was altered)")
    else:
        judge.add(
            "4-7",
            "pass",
            # In the office's zone, with its offset: the report is read by people, not parsed.
            f"审计记录 #{entry.seq}：{entry.user} 于 "
            f"{entry.at.astimezone(settings.zone).isoformat(sep=' ', timespec='seconds')} 归档，"
            "该条哈希校验通过",
        )


def start_run(session: Session, *, kind: str, actor: str, note: str | None = None) -> CheckRun:
    run = CheckRun(kind=kind, actor=actor, note=note, documents=0, failed=0)
    session.add(run)
    session.flush()
    return run


def record(
    session: Session,
    *,
    run: CheckRun,
    document: Document,
    stage: str,
    items: Iterable[Item],
    facts: dict[str, Any] | None = None,
) -> DocumentCheck:
    """Keep one document's items in the run and mark the document passed or failed."""
    rows = [item.as_dict() for item in items]
    passed = all(row["result"] != "fail" for row in rows)
    now = datetime.now(UTC)
    check = DocumentCheck(
        run_id=run.id, document_id=document.id, stage=stage, at=now, passed=passed, items=rows
    )
    session.add(check)
    run.documents += 1
    run.failed += 0 if passed else 1
    document.check_status = "passed" if passed else "failed"
    document.checked_at = now
    if facts is not None:
        if stage == "intake":
            document.file_properties = {**(document.file_properties or {}), **_kept_facts(facts)}
        if not document.sm3 and facts.get("sm3") and facts.get("sha256") == document.sha256:
            document.sm3 = facts["sm3"]
    return check


def _kept_facts(facts: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "media_type",
        "size",
        "pages_declared",
        "pages_loadable",
        "created",
        "modified",
        "producer",
        "signatures",
        "encrypted",
        "compression",
        "virus_scan",
    )
    return {key: facts[key] for key in keys if key in facts}


def finish_run(run: CheckRun) -> None:
    run.finished_at = datetime.now(UTC)


def stored_facts(
    store: OriginalStore,
    sha256: str,
    *,
    max_inflated_bytes: int,
    pdf_page_counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The facts of a stored original and both its digests; `sha256` None when it is missing.

    `pdf_page_counts`: see `inspect_file`."""
    path = store.path_for(sha256)
    if not path.is_file():
        return {
            "stored": False,
            "sha256": None,
            "sm3": None,
            "problems": ["原件缺失 (the original is missing)"],
        }
    return facts_of_file(path, max_inflated_bytes=max_inflated_bytes, pdf_page_counts=pdf_page_counts)


def check_document(
    session: Session,
    document: Document,
    *,
    settings: Settings,
    run: CheckRun,
    stage: str,
    given: CheckInput,
    groups: dict[str, Any] | None = None,
    lookups: RecordLookups | None = None,
) -> DocumentCheck:
    """Judge and keep one document's check in `run`."""
    items = evaluate(
        session, document, settings=settings, stage=stage, given=given, groups=groups, lookups=lookups
    )
    return record(session, run=run, document=document, stage=stage, items=items, facts=given.facts)
