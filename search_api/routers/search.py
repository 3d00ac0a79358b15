"""Full-text search."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from archive.auth import with_grants
from archive.schemas import DocType, PartnerKind, PartnerStatus, SearchResponse
from archive.search import SearchFilters, search_documents
from search_api.deps import TokenUser

# Included beside, not inside, the router that requires `get_current_user`: that dependency
# is a thread-pool hop of its own before the handler's, on the API's busiest route. The
# token is checked by `TokenUser` before anything else; the grants are read here.
router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResponse)
def search(
    request: Request,
    caller: TokenUser,
    q: Annotated[str | None, Query(max_length=500)] = None,
    partner_id: str | None = None,
    doc_type: DocType | None = None,
    department: str | None = None,
    kind: PartnerKind | None = None,
    partner_status: PartnerStatus | None = None,
    expires_before: date | None = None,
    expires_after: date | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Documents the caller may see, with highlights and facets."""
    state = request.app.state
    with state.session_factory() as session:
        user = with_grants(session, caller)
    # A borrower sees the numbers of what they borrowed (search_api/masking).
    request.state.user = user
    found = search_documents(
        state.es,
        state.audit,
        prefix=state.settings.es_index_prefix,
        user=user,
        q=q,
        filters=SearchFilters(
            partner_id=partner_id,
            doc_type=doc_type.value if doc_type else None,
            department=department,
            kind=kind.value if kind else None,
            partner_status=partner_status.value if partner_status else None,
            expires_before=expires_before,
            expires_after=expires_after,
        ),
        page=page,
        size=size,
    )
    # Serialised here, in the worker thread the route already runs in: a returned model is
    # validated again by FastAPI in a second trip through the thread pool, for a value
    # `search_documents` has just built and validated. The schema still comes from
    # `response_model`.
    return Response(found.model_dump_json(), media_type="application/json")
