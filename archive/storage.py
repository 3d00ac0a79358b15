"""Originals stored content-addressed by SHA-256: written whole or not at all."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from archive.errors import FileTooLarge, StorageFull

_CHUNK = 1024 * 1024


def new_sm3():  # type: ignore[no-untyped-def]
    """An SM3 hash (GB/T 32905-2016) from OpenSSL, which every supported platform builds in."""
    return hashlib.new("sm3")


def file_digests(path: Path) -> tuple[str, str, int]:
    """SHA-256, SM3 and size of a file, read once."""
    sha256, sm3 = hashlib.sha256(), new_sm3()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            sm3.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), sm3.hexdigest(), size


@dataclass(frozen=True)
class StagedFile:
    """An upload written to the store's staging area, hashed and measured, not yet kept."""

    path: Path
    sha256: str
    size: int
    sm3: str | None = None


class OriginalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    async def stage(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StagedFile:
        """Stream an upload to a staging file on the store's filesystem, hashing as it goes."""
        self.staging.mkdir(parents=True, exist_ok=True)
        digest, sm3 = hashlib.sha256(), new_sm3()
        size = 0
        handle, name = tempfile.mkstemp(dir=self.staging, prefix="upload-")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(
                            f"文件超过上传上限 {max_bytes // (1024 * 1024)} MB"
                            f" (the file exceeds the {max_bytes // (1024 * 1024)} MB upload limit)"
                        )
                    digest.update(chunk)
                    sm3.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            path.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull("存储空间已满，文件未保存 (storage is full; nothing was kept)") from exc
            raise
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedFile(path=path, sha256=digest.hexdigest(), size=size, sm3=sm3.hexdigest())

    @contextmanager
    def keep(self, staged: StagedFile) -> Iterator[Path]:
        """Move a staged file into place; undone if the caller's block fails.

        Identical bytes already stored (another partner's copy) are reused, and then never
        removed on failure, since another record owns them.
        """
        placed_here = self.place(staged)
        target = self.path_for(staged.sha256)
        try:
            yield target
        except BaseException:
            if placed_here:
                target.unlink(missing_ok=True)
            raise

    def place(self, staged: StagedFile) -> bool:
        """Move a staged file into place; True if these bytes were not stored before (the
        caller then owns removing them if its record is not kept)."""
        target = self.path_for(staged.sha256)
        if target.exists():
            staged.path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        return True

    def clean_staging(self, *, older_than_seconds: float) -> int:
        """Remove uploads left half-written by a process that died; returns how many."""
        if not self.staging.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in self.staging.glob("upload-*"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed

    def discard(self, staged: StagedFile) -> None:
        staged.path.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def digests(self, sha256: str) -> tuple[str, str, int]:
        """SHA-256, SM3 and size of the stored bytes, in one read (fixity re-checks)."""
        return file_digests(self.path_for(sha256))

    def verify(self, sha256: str) -> bool:
        digest = hashlib.sha256()
        with self.path_for(sha256).open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256


def remove_cache_entries(root: Path, entries: list[str]) -> None:
    """Delete OCR cache entries (paths under `root`) that no living document uses any more."""
    resolved = root.resolve()
    for entry in entries:
        target = (resolved / entry).resolve()
        if target.is_relative_to(resolved) and target != resolved:
            target.unlink(missing_ok=True)
