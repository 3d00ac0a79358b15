"""Request dependencies as Annotated aliases; clients live on app.state, made in the lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from elasticsearch import Elasticsearch
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from archive.audit import AuditWriter
from archive.auth import AuthenticationError, authenticate, resolve_user
from archive.db import session_scope
from archive.errors import Forbidden
from archive.jobs import JobQueue
from archive.permissions import User
from archive.settings import Settings
from archive.storage import OriginalStore
from search_api.body_guard import requires
from search_api.exposure import refuse_development_secret

_bearer = HTTPBearer(auto_error=False)


# The accessors below are `async` only so that FastAPI calls them inline: a plain `def`
# dependency costs a hop through the thread pool on every request.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.session_factory


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route succeeds, rolled back if not."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


async def get_es(request: Request) -> Elasticsearch:
    return request.app.state.es


async def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


async def get_store(request: Request) -> OriginalStore:
    return request.app.state.store


async def get_audit_writer(request: Request) -> AuditWriter:
    return request.app.state.audit


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
EsDep = Annotated[Elasticsearch, Depends(get_es)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
StoreDep = Annotated[OriginalStore, Depends(get_store)]
AuditWriterDep = Annotated[AuditWriter, Depends(get_audit_writer)]


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("缺少令牌 (missing bearer token)")
    return credentials.credentials


@requires("bearer")
def get_current_user(
    request: Request,
    settings: SettingsDep,
    session_factory: SessionFactoryDep,
    credentials: BearerCredentials,
) -> User:
    token = _bearer_token(credentials)
    refuse_development_secret(settings, request.scope)
    # A session of its own, returned at once: an upload must not hold a pooled connection
    # for the whole time its body streams in.
    with session_factory() as session:
        user = resolve_user(settings, session, token)
    # What the response may show depends on who asked (ID numbers masked, search_api/masking).
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


@requires("bearer")
async def get_token_user(request: Request, settings: SettingsDep, credentials: BearerCredentials) -> User:
    """The caller a valid token stands for, without their borrow grants (read by the route).

    For a route that does its database work in the one thread its handler runs in: the
    token is checked here first, so a bad token is still refused before the query
    parameters are judged. An HS256 signature is checked inline; an SSO's key may have to
    be fetched, so that check leaves the event loop.
    """
    token = _bearer_token(credentials)
    refuse_development_secret(settings, request.scope)
    if settings.jwks_url:
        user = await run_in_threadpool(authenticate, settings, token)
    else:
        user = authenticate(settings, token)
    # Masked as this caller; a route that reads the grants puts the user with them here.
    request.state.user = user
    return user


TokenUser = Annotated[User, Depends(get_token_user)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    def check(user: CurrentUser) -> User:
        if not user.has_role(*roles):
            raise Forbidden(f"需要以下角色之一 (requires one of): {', '.join(roles)}")
        return user

    return check
