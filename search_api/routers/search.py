"""Full-text search."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from archive.schemas import DocType, PartnerKind, SearchResponse
from archive.search import SearchFilters, search_documents
from search_api.deps import AuditWriterDep, CurrentUser, EsDep, SettingsDep

router = APIRouter(tags=["search"])


class SearchParameters(BaseModel):
    """The query string of GET /search, validated in one step (this is the busiest route)."""

    q: str | None = Field(default=None, max_length=500)
    partner_id: str | None = None
    doc_type: DocType | None = None
    department: str | None = None
    kind: PartnerKind | None = None
    expires_before: date | None = None
    expires_after: date | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    size: int = Field(default=20, ge=1, le=100)


@router.get("/search", response_model=SearchResponse)
def search(
    es: EsDep,
    audit: AuditWriterDep,
    settings: SettingsDep,
    user: CurrentUser,
    parameters: Annotated[SearchParameters, Query()],
) -> SearchResponse:
    """Documents the caller may see, with highlights and facets."""
    return search_documents(
        es,
        audit,
        prefix=settings.es_index_prefix,
        user=user,
        q=parameters.q,
        filters=SearchFilters(
            partner_id=parameters.partner_id,
            doc_type=parameters.doc_type.value if parameters.doc_type else None,
            department=parameters.department,
            kind=parameters.kind.value if parameters.kind else None,
            expires_before=parameters.expires_before,
            expires_after=parameters.expires_after,
        ),
        page=parameters.page,
        size=parameters.size,
    )
