"""Generated requests against the OpenAPI schema: no 5xx, and responses match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from archive.auth import mint_token
from search_api.app import create_app


@pytest.fixture
def api_schema(settings, client):  # type: ignore[no-untyped-def]
    # `client` runs the app's lifespan; schemathesis then calls the same ASGI app in-process.
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    token = mint_token(
        settings,
        sub="fuzz.archivist",
        roles=["archivist", "admin"],
        departments=["采购部"],
        clearance="confidential",
    )
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate()


def test_the_schema_is_served(client) -> None:
    assert create_app  # the factory is what production runs
    body = client.get("/openapi.json").json()
    assert "/api/v1/search" in body["paths"]
