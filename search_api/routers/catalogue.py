"""The archive catalogue (档案目录)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from archive import catalogue as service
from archive.catalogue import CataloguePage
from archive.schemas import DocType, DocumentStatus
from search_api.deps import CurrentUser, SessionDep, SettingsDep
from search_api.routers.reports import attachment_response

router = APIRouter(prefix="/catalogue", tags=["catalogue"])


@router.get(
    "",
    response_model=CataloguePage,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
def catalogue(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    partner_id: str | None = None,
    doc_type: DocType | None = None,
    department: str | None = None,
    status: DocumentStatus | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",  # noqa: A002 - the contract's parameter name
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CataloguePage | Response:
    """Documents the caller may see, one row each, by archive number; JSON pages or a CSV/XLSX export."""
    kind = doc_type.value if doc_type else None
    state = status.value if status else None
    if format == "json":
        return service.list_catalogue(
            session, user=user, partner_id=partner_id, doc_type=kind, page=page, size=size,
            department=department, status=state, zone=settings.zone,
        )
    return attachment_response(
        service.export_catalogue(
            session,
            user=user,
            partner_id=partner_id,
            doc_type=kind,
            fmt=format,
            department=department,
            status=state,
            zone=settings.zone,
        )
    )
