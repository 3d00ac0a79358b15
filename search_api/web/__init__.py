"""The staff web interface (人员界面): server-rendered pages over the same services and the
same visibility rule as the API, signed in with a session cookie that holds the API's token."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from search_api.web import (
    auth_pages,
    check_pages,
    compliance_pages,
    document_pages,
    inbox_pages,
    office_pages,
    partner_life_pages,
    report_pages,
    review_pages,
    search_pages,
    upload_pages,
)
from search_api.web.core import HERE


def install(app: FastAPI) -> None:
    """Mount the pages and /static on the app."""
    app.include_router(auth_pages.router)
    app.include_router(search_pages.router)
    app.include_router(document_pages.router)
    app.include_router(upload_pages.pages)
    app.include_router(upload_pages.json_api)
    app.include_router(office_pages.router)
    app.include_router(partner_life_pages.router)
    app.include_router(inbox_pages.router)
    app.include_router(compliance_pages.router)
    app.include_router(review_pages.router)
    app.include_router(check_pages.router)
    app.include_router(report_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
