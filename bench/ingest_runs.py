"""Ingest in this process: one document through the worker's own `process_document`."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from archive.documents import IntakePolicy, UploadRequest, record_upload
from archive.permissions import User
from archive.schemas import Confidentiality, DocType
from archive.settings import Settings
from archive.storage import StagedFile, file_digests
from bench.common import prepare_data_dir
from bench.partners import make_partner
from ingest.pipeline import WorkerContext, process_document
from ingest.worker import build_context, freeze_start_up_objects

ARCHIVIST = User(sub="bench", roles=frozenset({"archivist"}), departments=frozenset(), clearance="confidential")
MEDIA_TYPES = {".pdf": "application/pdf", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


class Ingest:
    """A data directory, a worker context and a way to record files as the API does."""

    def __init__(self, data_dir: Path, es_url: str, prefix: str, *, intake_checks: bool = True) -> None:
        prepare_data_dir(data_dir)
        self.settings = Settings(data_dir=data_dir, es_url=es_url, es_index_prefix=prefix,
                                 intake_checks=intake_checks)
        self.ctx: WorkerContext = build_context(self.settings)
        self._partners = 0
        freeze_start_up_objects()  # as a started worker does

    def record(self, path: Path) -> str:
        """Record the file for a new partner (so the same bytes are never a duplicate)."""
        self._partners += 1
        partner_id, _ = make_partner(self.settings.data_dir, f"福建省闽江供应链管理有限公司{self._partners}")
        self.ctx.store.staging.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.ctx.store.staging, prefix="upload-")
        shutil.copyfile(path, name)
        sha256, sm3, size = file_digests(path)
        staged = StagedFile(path=Path(name), sha256=sha256, size=size, sm3=sm3)
        request = UploadRequest(
            partner_id=partner_id, doc_type=DocType.contract, confidentiality=Confidentiality.internal,
            department=None, title=None, expires_on=None, filename=path.name,
            declared_media_type=MEDIA_TYPES.get(path.suffix),
        )
        outcome = record_upload(self.ctx.session_factory, store=self.ctx.store, user=ARCHIVIST,
                                request=request, staged=staged, department="采购部",
                                policy=IntakePolicy.from_settings(self.settings))
        return outcome.document.id

    def process(self, document_id: str) -> float:
        started = time.perf_counter()
        process_document(self.ctx, document_id)
        elapsed = time.perf_counter() - started
        from archive.models import Document

        with self.ctx.session_factory() as session:
            status = session.get(Document, document_id).status  # type: ignore[union-attr]
        if status != "indexed":
            raise RuntimeError(f"document {document_id} ended {status}")
        return elapsed

    def close(self) -> None:
        self.ctx.es.close()
        self.ctx.session_factory.kw["bind"].dispose()
