"""Full-text search over relationship records, under the documents' visibility rule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from archive.partner_life.records import search_records
from archive.schemas import RecordKind, RecordSearchResponse
from search_api.deps import AuditWriterDep, CurrentUser, EsDep, SessionDep, SettingsDep

router = APIRouter(prefix="/records", tags=["partners"])


@router.get("", response_model=RecordSearchResponse)
def search(
    es: EsDep,
    audit: AuditWriterDep,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=500)] = None,
    partner_id: Annotated[str | None, Query(max_length=32)] = None,
    kind: RecordKind | None = None,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RecordSearchResponse:
    """Visits, communications, surveys and complaints the caller may see, by keyword."""
    return search_records(
        es,
        audit,
        session,
        prefix=settings.es_index_prefix,
        user=user,
        q=q,
        partner_id=partner_id,
        kind=kind.value if kind else None,
        page=page,
        size=size,
    )
