"""CSRF on every form of the web interface, stated over every state-changing route the app
has (those added later included): a forged token, or a true one sent from another site, is
refused with 403 before the route does anything."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from search_api.app import create_app
from tests.security.conftest import web_sign_in

# Path segments that name an action: the first one each route knows.
ACTIONS = {"decision": "approve", "step": "approve"}
# Required form fields whose values are checked against a list before the route runs.
KNOWN_VALUES = {"rating": "A", "kind": "supplier", "decision": "confirm", "clearance": "internal"}


def _state_changing_web_routes(app: Any) -> Iterator[Any]:
    """Every non-API route that takes a POST, PUT, PATCH or DELETE, however the app groups them."""
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        if hasattr(route, "effective_route_contexts"):  # FastAPI's included router
            pending.extend(route.effective_route_contexts())
            continue
        methods = getattr(route, "methods", None) or set()
        if methods - {"GET", "HEAD", "OPTIONS"} and not route.path.startswith("/api/"):
            yield route


def _sample(name: str, annotation: Any) -> Any:
    """A value that passes the field's own validation, so that only the CSRF check can refuse."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        value = _sample(name, inner[0])
        return [value] if origin is list else value
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation)).value
    if name in KNOWN_VALUES:
        return KNOWN_VALUES[name]
    if annotation is date:
        return "2026-01-05"
    if annotation in (int, float):
        return "80"
    return "测试"


def _form(route: Any, csrf: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    path = route.path
    for param in route.dependant.path_params:
        path = path.replace("{" + param.alias + "}", ACTIONS.get(param.alias, "0" * 32))
    data: dict[str, Any] = {"csrf_token": csrf}
    files: dict[str, Any] = {}
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, field in annotation.model_fields.items():
                if field.is_required() and name != "csrf_token":
                    data[name] = _sample(name, field.annotation)
        elif getattr(annotation, "__name__", "") == "UploadFile":
            files[param.alias] = ("a.pdf", b"%PDF-1.4\n", "application/pdf")
        elif param.field_info.is_required() and param.alias != "csrf_token":
            data[param.alias] = _sample(param.alias, annotation)
    return path, data, files


def test_every_form_refuses_a_forged_token_and_another_sites_post(settings) -> None:
    with TestClient(create_app(settings)) as client:
        routes = list(_state_changing_web_routes(client.app))
        # The walk found the forms of every area (more come as pages are added).
        assert {"/logout", "/partners", "/borrowing/{request_id}/{decision}", "/destruction/{request_id}/{step}",
                "/review/{document_id}/{field}", "/audit/purge"} <= {r.path for r in routes}
        refused: dict[str, tuple[int, int]] = {}
        for route in routes:
            csrf = web_sign_in(client, "chen.dang", roles="archivist,admin", clearance="confidential")
            path, data, files = _form(route, "forged-" + csrf[:8])
            forged = client.post(path, data=data, files=files or None, headers={"X-CSRF-Token": "forged"},
                                 follow_redirects=False)
            path, data, files = _form(route, csrf)
            cross_site = client.post(
                path, data=data, files=files or None,
                headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf}, follow_redirects=False,
            )
            refused[route.path] = (forged.status_code, cross_site.status_code)
    assert {path: codes for path, codes in refused.items() if codes != (403, 403)} == {}


@pytest.mark.parametrize("route", ["/borrowing", "/partners"])
def test_a_true_token_from_this_site_passes_the_check(settings, route) -> None:
    """The other side of the property: the samples are good enough to reach past the check."""
    with TestClient(create_app(settings)) as client:
        csrf = web_sign_in(client, "chen.dang", roles="archivist", clearance="confidential")
        form = {"/borrowing": {"documents": "GYS-2026-000001-0001", "reason": "核对"},
                "/partners": {"name": "泉州海丝贸易有限公司", "kind": "customer", "department": "销售部"}}[route]
        response = client.post(route, data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert response.status_code != 403, response.text
