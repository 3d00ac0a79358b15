"""Domain errors with the facts a caller needs; mapped to HTTP in one place (search_api/errors.py)."""

from __future__ import annotations

import re

# An absolute path of two or more parts, as a library's message quotes the file it read.
_SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"()<>/:]+/)+([^\s'\"()<>/:]+)")


def without_server_paths(message: str | None) -> str | None:
    """A message for people, with the server's file paths cut down to the file's own name."""
    return _SERVER_PATH.sub(r"\1", message) if message else message


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or the caller may not see it (the two are indistinguishable)."""


class Conflict(DomainError):
    def __init__(self, message: str, *, existing_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class InvalidInput(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnsupportedFile(DomainError):
    """An upload refused by its bytes: empty, unknown type, disguised."""


class FileTooLarge(DomainError):
    pass


class Forbidden(DomainError):
    """The caller is known but their role does not allow the action."""


class ServiceUnavailable(DomainError):
    """A backing service (search engine, queue, database) does not answer."""


class StorageFull(DomainError):
    """The disk holding originals has no room; nothing was kept."""
