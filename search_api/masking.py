"""ID numbers masked in every text response (JSON, HTML, CSV) to a caller who may not see them.

Applied once, at the edge, so that no route, page or error message can forget it: fields,
provenance, problems, flags, highlights, titles, page text, an error that echoes a path.
Archivists and admins receive responses untouched (nothing is buffered for them); a
borrower sees the numbers written in the documents they hold a grant for. Binary exports
(XLSX, DOCX) are masked where they are built; page images black out the number's words.
The file name a download carries in its `Content-Disposition` is masked whatever the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import quote, unquote

from anyio import to_thread
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.db import session_scope
from archive.masking import find_id_numbers, id_numbers_of_documents, mask_id_numbers, masked, strings_in
from archive.permissions import UNMASKED_ROLES, User

_TEXT_TYPES = (b"application/json", b"text/html", b"text/csv", b"text/plain")


def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower()
    return b""


_ENCODED_FILENAME = re.compile(r"(filename\*=UTF-8'[^']*')([^;]+)", re.IGNORECASE)


def masked_disposition(value: str) -> str:
    """A `Content-Disposition` with the ID numbers of its file names masked (the encoded one
    judged as the client decodes it: full-width digits are percent-encoded there)."""
    value = _ENCODED_FILENAME.sub(lambda m: m.group(1) + quote(mask_id_numbers(unquote(m.group(2)))), value)
    return mask_id_numbers(value)


def _with_masked_disposition(message: Message) -> Message:
    headers = MutableHeaders(raw=list(message.get("headers", [])))
    if "content-disposition" not in headers:
        return message
    headers["content-disposition"] = masked_disposition(headers["content-disposition"])
    return {**message, "headers": headers.raw}


def caller(scope: Scope) -> User | None:
    """The user the route resolved, if any (routes keep it on `request.state.user`)."""
    user = scope.get("state", {}).get("user")
    return user if isinstance(user, User) else None


class MaskIdNumbers:
    """Pure ASGI middleware: buffers a text response for a masked caller and masks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        passing = False
        chunks: list[bytes] = []

        async def masking_send(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                user = caller(scope)
                content_type = _content_type(message.get("headers", []))
                unmasked = user is not None and user.roles & UNMASKED_ROLES
                if not unmasked:
                    message = _with_masked_disposition(message)
                if unmasked or not content_type.startswith(_TEXT_TYPES):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = await _masked_body(scope, b"".join(chunks), _content_type(start.get("headers", [])))
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            if "content-length" in headers:
                headers["content-length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, masking_send)


async def _masked_body(scope: Scope, body: bytes, content_type: bytes) -> bytes:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    if content_type.startswith(b"application/json") and "\\u" in text:
        # Escaped characters (full-width digits among them) are judged as the client reads them.
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if document is not None:
            keep = await _granted_numbers(scope, "\n".join(strings_in(document)))
            return json.dumps(masked(document, keep=keep), ensure_ascii=False).encode("utf-8")
    keep = await _granted_numbers(scope, text)
    return mask_id_numbers(text, keep=keep).encode("utf-8")


async def _granted_numbers(scope: Scope, text: str) -> Callable[[str], bool] | None:
    """What a borrower may see unmasked: the numbers of the documents they hold grants for."""
    user = caller(scope)
    if user is None or not user.granted_document_ids or next(find_id_numbers(text), None) is None:
        return None
    factory = scope["app"].state.session_factory

    def load() -> frozenset[str]:
        with session_scope(factory) as session:
            return id_numbers_of_documents(session, user.granted_document_ids)

    allowed = await to_thread.run_sync(load)
    return allowed.__contains__
