"""Index jobs (one at a time, in a background thread), uploads, deletions and the manifest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from api.errors import ApiError
from api.schemas import DocumentList, DocumentPublic, IndexStatus, Job
from api.services.locks import ReadWriteLock
from app import admin
from app.admin import minimal_roots
from app.runtime import Runtime
from casewise.errors import RequestError
from casewise.settings import ApiSettings
from casewise.store import DocumentRow

UPLOADS = "uploads"
MAX_JOBS_KEPT = 50
COPY_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def public_document(row: DocumentRow) -> DocumentPublic:
    return DocumentPublic(doc_id=row.doc_id, source_path=row.source_path, doc_type=row.doc_type, status=row.status,
                          quarantine_reason=row.error if row.status == "quarantined" else None, case_id=row.case_id,
                          chunks=len(row.chunk_ids or []), updated_at=row.updated_at)


class IndexService:
    """Owns every write to the index made by the API: uploads, deletions and re-index jobs."""

    def __init__(self, rt: Runtime, api: ApiSettings, lock: ReadWriteLock) -> None:
        self.rt = rt
        self.api = api
        self.lock = lock
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casewise-index")
        # One writer at a time: an upload or deletion that arrives during a rebuild waits for it, so it lands in the
        # collection the alias points at afterwards and is never lost with the old one.
        self._writer = threading.Lock()

    @property
    def writer(self) -> threading.Lock:
        """Held by every write to the index; a backup holds it so the store and the index agree."""
        return self._writer

    @property
    def uploads_dir(self) -> Path:
        path = self.rt.settings.data_dir / UPLOADS
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path.resolve()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- manifest -------------------------------------------------------------------------------------------------
    def documents(self) -> DocumentList:
        rows = self.rt.store.documents()
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        return DocumentList(documents=[public_document(r) for r in rows], counts=counts)

    def document(self, doc_id: str) -> DocumentRow | None:
        return next((r for r in self.rt.store.documents() if r.doc_id == doc_id), None)

    # -- indexing -------------------------------------------------------------------------------------------------
    def _run_indexer(self, roots: list[Path], rebuild: bool = False) -> dict[str, Any]:
        rt = self.rt
        with self._writer:
            if rebuild:  # builds beside the live collection; only the alias switch excludes queries
                report = admin.run_indexer(rt, roots, rebuild=True, switch_guard=self.lock.write)
            else:
                with self.lock.write():
                    report = admin.run_indexer(rt, roots)
        out = dataclasses.asdict(report)
        # File paths can carry patient names: the report gives counts and reasons, the manifest gives the paths.
        out["quarantined"] = len(report.quarantined)
        out["seconds"] = round(report.seconds, 2)
        return out

    def default_roots(self) -> list[Path]:
        """Configured sources, the uploads folder and the folders of documents already indexed."""
        known = [Path(r.source_path).parent for r in self.rt.store.documents()]
        return minimal_roots([*self.api.sources, self.uploads_dir, *[p for p in known if p.exists()]])

    def resolve_roots(self, paths: list[str] | None) -> list[Path]:
        if not paths:
            return self.default_roots()
        roots = []
        for i, p in enumerate(paths):
            path = Path(p).expanduser()
            if not path.is_absolute() or not path.exists():
                raise RequestError(f"paths[{i}]", "must be an existing absolute path on the server")
            roots.append(path)
        return minimal_roots(roots)

    def start_reindex(self, roots: list[Path], rebuild: bool = False) -> Job:
        job = Job(job_id=uuid.uuid4().hex[:16], kind="rebuild" if rebuild else "reindex", state="queued",
                  created_at=_now())
        with self._jobs_lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                self._jobs.popitem(last=False)
        self._pool.submit(self._job, job.job_id, roots, rebuild)
        return job.model_copy()

    def _job(self, job_id: str, roots: list[Path], rebuild: bool = False) -> None:
        self._update(job_id, state="running", started_at=_now())
        try:
            report = self._run_indexer(roots, rebuild)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported, not raised into a dead thread
            from api.errors import error_payload

            _, body = error_payload(exc)
            self._update(job_id, state="failed", finished_at=_now(), error=body["error"]["message"])
        else:
            self._update(job_id, state="done", finished_at=_now(), report=report)

    def _update(self, job_id: str, **fields: Any) -> None:
        with self._jobs_lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = job.model_copy(update=fields)

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            job = self._jobs.get(job_id)
            return job.model_copy() if job else None

    def status(self) -> IndexStatus:
        docs = self.documents().counts
        with self._jobs_lock:
            jobs = list(self._jobs.values())
        current = next((j for j in jobs if j.state in ("running", "queued")), None)
        s = self.rt.settings
        with self.lock.read():
            chunks = self.rt.index.count() if self.rt.index.exists() else 0
        return IndexStatus(documents=docs, cases=self.rt.store.count_cases(), chunks=chunks, backend=s.index.backend,
                           collection=s.index.collection, current_job=current, recent_jobs=list(reversed(jobs))[:10])

    # -- uploads and deletions ------------------------------------------------------------------------------------
    def save_upload(self, filename: str, stream: BinaryIO, limit: int) -> Path:
        """Save an upload under data_dir/uploads with a safe name; 413 above `limit` bytes, 422 for unknown types."""
        from indexing.sources import doc_type

        name = _SAFE_NAME.sub("_", Path(filename or "").name).strip(" .")[:120]
        if not name:
            raise RequestError("file", "has no usable file name")
        target = self.uploads_dir / name
        if doc_type(target) is None:
            raise RequestError("file", "type not supported (pdf, docx, txt, md, html, eml, csv, xlsx)")
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.part")
        size = 0
        try:
            with tmp.open("wb") as fh:
                while chunk := stream.read(COPY_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise ApiError(413, "too_large", f"file above the upload limit of {limit} bytes")
                    fh.write(chunk)
            if size == 0:
                raise RequestError("file", "is empty")
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def index_upload(self, path: Path) -> DocumentRow:
        """Index the uploads folder (incremental: only the new or changed file is processed)."""
        self._run_indexer([self.uploads_dir])
        row = self.rt.store.document_by_path(str(path.resolve()))
        if row is None:  # pragma: no cover - the indexer always writes a manifest row for a discovered file
            raise ApiError(500, "internal_error", "the uploaded file was not indexed")
        return row

    def delete(self, row: DocumentRow) -> None:
        """Remove a document from the index and the manifest; an uploaded file is deleted too.

        A document from a source folder comes back at the next re-index unless its file is removed from the folder.
        """
        path = Path(row.source_path)
        if path.is_relative_to(self.uploads_dir):
            path.unlink(missing_ok=True)
            self._run_indexer([self.uploads_dir])
            return
        with self._writer, self.lock.write():
            self.rt.indexer.remove(row.doc_id)
