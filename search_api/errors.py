"""Domain errors to HTTP, in one place; a 5xx never carries a stack trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from archive.auth import AuthenticationError
from archive.errors import (
    Conflict,
    DomainError,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    StorageFull,
    UnsupportedFile,
)

log = structlog.get_logger(__name__)

_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    UnsupportedFile: 415,
    FileTooLarge: 413,
    Forbidden: 403,
    ServiceUnavailable: 503,
    StorageFull: 507,
}


def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    body: dict[str, object] = {"detail": exc.message}
    if isinstance(exc, Conflict) and exc.existing_id:
        body["existing_id"] = exc.existing_id
    if isinstance(exc, InvalidInput) and exc.field:
        body["field"] = exc.field
    headers = {"Retry-After": "30"} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _authentication_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        problems.append({"field": ".".join(location), "message": error.get("msg", "")})
    fields = ", ".join(problem["field"] for problem in problems)
    return JSONResponse(
        {"detail": f"请求参数有误 (invalid fields): {fields}", "errors": problems},
        status_code=422,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("request.unhandled", path=request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "服务器内部错误，已记录 (internal error; it has been logged)"}, status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(AuthenticationError, _authentication_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


# The shape of every error this API sends (the handlers above), for the OpenAPI document.
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, in Chinese and English"},
        "field": {"type": "string"},
        "existing_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


_COMMON_ERRORS = {
    "401": "missing or invalid token",
    "403": "the caller's role does not allow this",
    "404": "not found, or not visible to the caller",
    "409": "conflicts with the current state",
    "503": "the search engine is unavailable",
}
_UPLOAD_ERRORS = {
    "413": "larger than the upload limit",
    "415": "empty, unsupported or disguised file",
    "507": "storage is full; nothing was kept",
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe the real error body instead of FastAPI's default validation error."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["HTTPValidationError"] = ERROR_SCHEMA
    components["Error"] = ERROR_SCHEMA
    reference = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/v1") or path.endswith(("/healthz", "/readyz")):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _COMMON_ERRORS.items():
                responses.setdefault(status, {"description": description, **reference})
            if path == "/api/v1/documents" and "requestBody" in operation:
                for status, description in _UPLOAD_ERRORS.items():
                    responses.setdefault(status, {"description": description, **reference})
    return schema
