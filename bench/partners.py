"""Partners for the benchmarks, created through the domain service as the API would."""

from __future__ import annotations

from pathlib import Path

from archive.db import make_engine, make_session_factory, session_scope
from archive.migrate import upgrade_database
from archive.partners import create_partner
from archive.permissions import User
from archive.schemas import PartnerCreate
from archive.settings import Settings


def make_partner(data_dir: Path, name: str, department: str = "采购部", kind: str = "supplier") -> tuple[str, str]:
    settings = Settings(data_dir=data_dir)
    upgrade_database(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    admin = User(sub="bench", roles=frozenset({"admin"}), departments=frozenset(), clearance="confidential")
    with session_scope(make_session_factory(engine)) as session:
        partner = create_partner(session, settings=settings, user=admin,
                                 data=PartnerCreate(name=name, kind=kind, department=department))
        result = partner.id, partner.archive_no
    engine.dispose()
    return result



