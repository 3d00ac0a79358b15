"""Find a partner and its documents by licence number, declared or read from a licence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.audit import record_event
from archive.credit_code import normalize_license_no
from archive.errors import InvalidInput, NotFound, ServiceUnavailable
from archive.identifiers import lookup_candidates
from archive.models import Partner
from archive.permissions import User, partner_visibility_clause, visibility_filter, visible_superseder
from archive.search_index import documents_alias, is_unavailable


@dataclass(frozen=True)
class LookupResult:
    normalized: list[str]
    partner: Partner | None
    documents: list[dict[str, Any]]


def lookup_license(
    session: Session,
    es: Elasticsearch,
    *,
    prefix: str,
    user: User,
    raw: str,
    partner_status: str | None = None,
) -> LookupResult:
    """`partner_status` narrows it to a partner in that state (and its documents)."""
    try:
        candidates = lookup_candidates(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="license_no") from exc
    conditions = [Partner.credit_code.in_(candidates), partner_visibility_clause(user)]
    if partner_status:
        conditions.append(Partner.status == partner_status)
    declared = session.scalars(select(Partner).where(*conditions)).first()
    status_filter = [{"term": {"partner_status": partner_status}}] if partner_status else []
    query = {
        "bool": {
            "filter": [
                visibility_filter(user),
                *status_filter,
                {
                    "bool": {
                        "should": [
                            {"terms": {"partner_credit_code": candidates}},
                            {"terms": {"fields.credit_code": candidates}},
                            {"terms": {"fields.registration_no": candidates}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
            ]
        }
    }
    try:
        response = es.search(
            index=documents_alias(prefix),
            query=query,
            size=200,
            sort=[{"archive_no": "asc"}],
            source=["partner_id", "doc_type", "title", "archive_no", "expires_on", "superseded_by"],
        ).body
    except Exception as exc:
        if is_unavailable(exc):
            raise ServiceUnavailable("搜索服务暂时不可用 (the search engine is unavailable)") from exc
        raise
    documents = [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]
    for document in documents:
        document["superseded_by"] = visible_superseder(session, user, document.get("superseded_by"))
    partner = declared
    if partner is None and documents:
        partner = session.get(Partner, documents[0]["partner_id"])
    record_event(
        session,
        user=user.sub,
        action="lookup",
        target=partner.id if partner else None,
        details={
            "license_no": raw,
            "candidates": candidates,
            "partner_status": partner_status,
            "documents": len(documents),
        },
    )
    if partner is None:
        # No candidate at all when a slip no single confusion explains left nothing to look up.
        shown = candidates[0] if candidates else normalize_license_no(raw)
        raise NotFound(f"未找到执照号码为 {shown} 的客商或文档 (no partner or document with that number)")
    return LookupResult(normalized=candidates, partner=partner, documents=documents)
