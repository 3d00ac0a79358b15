"""How the API process keeps itself: what its start-up made is out of the collector's way."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from archive.settings import Settings
from search_api.app import create_app


def test_the_api_freezes_its_start_up_objects_out_of_the_garbage_collector(settings: Settings) -> None:
    # A full collection walked ~230,000 start-up objects (~60 ms) inside somebody's search.
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/healthz").status_code == 200
        assert gc.get_freeze_count() > 50_000
    gc.unfreeze()
