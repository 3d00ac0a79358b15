"""The company's departments, from configuration: what may be chosen, and by whom."""

from __future__ import annotations

from archive.errors import InvalidInput
from archive.permissions import User
from archive.settings import Settings


def require_known_department(
    settings: Settings, department: str | None, *, field: str = "department"
) -> None:
    """Refuse a department that is not on the configured list (a typo makes a partner nobody sees)."""
    if department is None or department in settings.departments:
        return
    raise InvalidInput(
        f"未知的部门「{department}」，可选：{'、'.join(settings.departments)}"
        f" (unknown department; configured in PARTNER_ARCHIVE_DEPARTMENTS)",
        field=field,
    )


def choosable_departments(settings: Settings, user: User) -> list[str]:
    """The departments a user may file things under: their own, or all for the archive office."""
    if user.sees_all_departments:
        return list(settings.departments)
    return [name for name in settings.departments if name in user.departments]
