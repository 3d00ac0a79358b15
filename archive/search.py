"""Full-text search over the documents index, with the visibility rule inside the query."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from archive.audit import AuditWriter
from archive.errors import InvalidInput, ServiceUnavailable
from archive.metrics import SEARCHES, count_elasticsearch_error
from archive.permissions import User, visibility_filter
from archive.schemas import SearchHit, SearchResponse
from archive.search_index import documents_alias, ensure_index, is_unavailable

MAX_WINDOW = 10_000
FACETS = {"doc_type": "doc_type", "department": "department", "kind": "partner_kind"}
# Operators a user may type: +, |, -, "phrases", (groups), trailing * — nothing that names a
# field or reaches outside the text fields listed below.
_USER_OPERATORS = "AND|OR|NOT|PHRASE|PRECEDENCE|PREFIX|WHITESPACE|ESCAPE"
_TEXT_FIELDS = ["title^3", "partner_name^2", "content"]
_ADJACENCY_FIELDS = ["title.bigram^3", "partner_name.bigram^2", "content.bigram"]
_CODE_FIELDS = [
    "archive_no",
    "partner_archive_no",
    "partner_credit_code",
    "fields.credit_code",
    "fields.contract_no",
]


@dataclass(frozen=True)
class SearchFilters:
    partner_id: str | None = None
    doc_type: str | None = None
    department: str | None = None
    kind: str | None = None
    partner_status: str | None = None
    expires_before: date | None = None
    expires_after: date | None = None


# A Chinese input method types “phrases” with curly quotes; they mean the same as "phrases".
_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"'})


def normalize_query(text: str) -> str:
    """Full-width letters and digits to half-width, as the indexer stores them; “ ” as "."""
    return unicodedata.normalize("NFKC", text).translate(_CURLY_QUOTES).strip()


def build_query(user: User, q: str | None, filters: SearchFilters) -> dict[str, Any]:
    """The whole query: user text scored, visibility and facets' filters outside the text."""
    filter_clauses: list[dict[str, Any]] = [visibility_filter(user)]
    if filters.partner_id:
        filter_clauses.append({"term": {"partner_id": filters.partner_id}})
    if filters.doc_type:
        filter_clauses.append({"term": {"doc_type": filters.doc_type}})
    if filters.department:
        filter_clauses.append({"term": {"department": filters.department}})
    if filters.kind:
        filter_clauses.append({"term": {"partner_kind": filters.kind}})
    if filters.partner_status:
        filter_clauses.append({"term": {"partner_status": filters.partner_status}})
    if filters.expires_before or filters.expires_after:
        bounds: dict[str, str] = {}
        if filters.expires_before:
            bounds["lt"] = filters.expires_before.isoformat()
        if filters.expires_after:
            bounds["gt"] = filters.expires_after.isoformat()
        filter_clauses.append({"range": {"expires_on": bounds}})

    text = normalize_query(q or "")
    if not text:
        return {"bool": {"filter": filter_clauses}}
    return {
        "bool": {
            "must": [_text_match(text)],
            # Adjacent characters matched as pairs, and the words as one phrase, rank a
            # document with 采购合同 above one with 采购 and 合同 far apart.
            "should": [
                {
                    "simple_query_string": {
                        "query": text,
                        "fields": _ADJACENCY_FIELDS,
                        "default_operator": "or",
                        "flags": _USER_OPERATORS,
                        "lenient": True,
                    }
                },
                {"match_phrase": {"content": {"query": _plain_words(text), "slop": 0, "boost": 2}}},
            ],
            "filter": filter_clauses,
        }
    }


def _text_match(text: str) -> dict[str, Any]:
    return {
        "bool": {
            "should": [
                {
                    "simple_query_string": {
                        "query": text,
                        "fields": _TEXT_FIELDS,
                        "default_operator": "and",
                        "flags": _USER_OPERATORS,
                        "lenient": True,
                    }
                },
                {
                    "simple_query_string": {
                        "query": re.sub(r"[\s\-]", "", text),
                        "fields": _CODE_FIELDS,
                        "flags": "NONE",
                        "lenient": True,
                        "boost": 5,
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def _plain_words(text: str) -> str:
    return re.sub(r'[+|\-"()*~\\]', " ", text)


def search_documents(
    es: Elasticsearch,
    audit: AuditWriter,
    *,
    prefix: str,
    user: User,
    q: str | None,
    filters: SearchFilters,
    page: int,
    size: int,
) -> SearchResponse:
    if page * size > MAX_WINDOW:
        raise InvalidInput(
            f"翻页过深：page × size 不能超过 {MAX_WINDOW} (page * size must not exceed {MAX_WINDOW})",
            field="page",
        )
    query = build_query(user, q, filters)
    body: dict[str, Any] = {
        "query": query,
        "from": (page - 1) * size,
        "size": size,
        "track_total_hits": True,
        # A shard that cannot answer (its node just went, no copy yet promoted) fails the
        # search: a total counted over some shards only would be silently wrong.
        "allow_partial_search_results": False,
        "_source": [
            "partner_id",
            "partner_name",
            "doc_type",
            "title",
            "expires_on",
            "archive_no",
            "department",
        ],
        "aggs": {name: {"terms": {"field": field, "size": 50}} for name, field in FACETS.items()},
        "highlight": {
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "encoder": "html",
            "fields": {
                "content": {"fragment_size": 120, "number_of_fragments": 3},
                "title": {"number_of_fragments": 0},
            },
        },
    }
    try:
        response = _search(es, prefix=prefix, body=body)
    except Exception as exc:
        unavailable = is_unavailable(exc) or _shards_unavailable(exc)
        count_elasticsearch_error("search", unavailable=unavailable)
        if unavailable:
            SEARCHES.labels("unavailable").inc()
            raise ServiceUnavailable(
                "搜索服务暂时不可用，请稍后再试 (the search engine is unavailable; try again later)"
            ) from exc
        raise
    shards = response.get("_shards", {})
    if response.get("timed_out") or shards.get("failed") or shards.get("successful") != shards.get("total"):
        count_elasticsearch_error("search", unavailable=True)
        SEARCHES.labels("unavailable").inc()
        raise ServiceUnavailable(
            "搜索服务暂时不可用，请稍后再试 (the search engine answered for part of the index only)"
        )
    hits = [_hit(user, raw) for raw in response["hits"]["hits"]]
    facets = {
        name: {bucket["key"]: bucket["doc_count"] for bucket in agg["buckets"]}
        for name, agg in response["aggregations"].items()
    }
    total = response["hits"]["total"]["value"]
    audit.record(
        user=user.sub,
        action="search",
        details={
            "q": q,
            "filters": {k: str(v) for k, v in asdict(filters).items() if v},
            "page": page,
            "size": size,
            "total": total,
        },
    )
    SEARCHES.labels("answered").inc()
    return SearchResponse(total=total, page=page, size=size, hits=hits, facets=facets)


def _shards_unavailable(exc: Exception) -> bool:
    """A search refused because some shard had no copy to answer (partial results are off)."""
    return isinstance(exc, ApiError) and "search_phase_execution_exception" in str(exc.body)


def _search(es: Elasticsearch, *, prefix: str, body: dict[str, Any]) -> dict[str, Any]:
    alias = documents_alias(prefix)
    try:
        return es.search(index=alias, **body).body
    except ApiError as exc:
        if exc.meta.status != 404:
            raise
    # The index is created lazily when the engine first answers; nothing is lost meanwhile.
    ensure_index(es, prefix=prefix)
    return es.search(index=alias, **body).body


def _hit(user: User, raw: dict[str, Any]) -> SearchHit:
    source = raw["_source"]
    fragments = raw.get("highlight", {}).get("content", []) or raw.get("highlight", {}).get("title", [])
    # Single-character CJK terms are highlighted one by one; join the runs back up.
    fragments = [fragment.replace("</em><em>", "") for fragment in fragments]
    return SearchHit(
        id=raw["_id"],
        partner_id=source["partner_id"],
        partner_name=source["partner_name"],
        doc_type=source["doc_type"],
        title=source["title"],
        score=raw.get("_score"),
        highlights=fragments,
        expires_on=source.get("expires_on"),
        archive_no=source["archive_no"],
        department=source["department"],
    )
