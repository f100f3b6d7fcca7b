"""Backup and restore of a Casewise data dir: the system of record, the vector index and the configuration.

A backup is one .tar.gz holding
    manifest.json        version, time, counts (documents, cases, chunks), the audit chain's head, sha256 of every file
    casewise.db          an online SQLite backup (consistent while the database is in use)
    index/               the live vector collection's files (embedded backends), copied while no write runs
    config/              casewise.toml from the working directory, if any
Secrets are not in it: the de-identification secret (CASEWISE_DEID__SECRET) must be kept apart, and the same secret
must be set when restoring, or re-indexed documents would get different pseudonyms than the restored ones.
With PostgreSQL or a Qdrant server, use pg_dump and Qdrant's snapshot API; the backup then says what it left out.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import tarfile
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casewise.errors import CasewiseError
from indexing.sources import content_hash

if TYPE_CHECKING:
    from app.runtime import Runtime

FORMAT = 1


class BackupError(CasewiseError):
    """A backup cannot be written, or an archive cannot be restored."""


def create_backup(rt: Runtime, dest: Path, guard: AbstractContextManager[Any] | None = None) -> dict[str, Any]:
    """Write a backup archive to `dest` (a .tar.gz path, or a folder to put a dated one in); return its manifest.

    `guard` keeps indexing out while the store and the index are copied (the API passes its writer lock), so the
    two agree with each other.
    """
    settings = rt.settings
    if dest.is_dir() or not dest.name.endswith(".tar.gz"):
        dest = dest / f"casewise-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    left_out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="casewise-backup-", dir=dest.parent) as tmp:
        work = Path(tmp)
        with guard or nullcontext():
            if settings.db_url.startswith("sqlite:///"):
                src = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
                dst = sqlite3.connect(work / "casewise.db")
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()
            else:
                left_out.append("the database (not SQLite): back it up with pg_dump")
            chunks = rt.index.count() if rt.index.exists() else 0
            if chunks and not rt.index.copy_to(work / "index"):
                left_out.append("the vector index (a Qdrant server): use Qdrant's snapshot API, or rebuild it")
            ok, entries, _ = rt.store.verify_audit()
            documents = len(rt.store.documents())
            cases = rt.store.count_cases()
            head = rt.store.audit_entries()[-1].hash if entries else None
        if Path("casewise.toml").is_file():
            (work / "config").mkdir()
            shutil.copy("casewise.toml", work / "config" / "casewise.toml")
        files = {str(p.relative_to(work)): content_hash(p) for p in sorted(work.rglob("*")) if p.is_file()}
        manifest = {"format": FORMAT, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "index_backend": settings.index.backend, "collection": settings.index.collection,
                    "embedding_model": settings.embedding.model, "documents": documents, "cases": cases,
                    "chunks": chunks, "audit_entries": entries, "audit_intact": ok, "audit_head": head,
                    "left_out": left_out, "files": files}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for p in sorted(work.iterdir()):
                tar.add(p, arcname=p.name)
        partial.replace(dest)  # a backup cut short never looks complete
    dest.chmod(0o600)
    return {**manifest, "path": str(dest)}


def restore_backup(archive: Path, data_dir: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore `archive` into `data_dir` (empty, or replaced with `force`); verify checksums, counts and the audit."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such backup file")
    if data_dir.exists() and any(data_dir.iterdir()) and not force:
        raise BackupError(f"{data_dir} is not empty: restore into an empty folder, or pass --force to replace it")
    with tempfile.TemporaryDirectory(prefix="casewise-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")  # refuses absolute paths, links out of the folder, devices
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{archive}: not a readable Casewise backup ({type(exc).__name__})") from None
        try:
            manifest = json.loads((work / "manifest.json").read_text())
        except (OSError, ValueError):
            raise BackupError(f"{archive}: no manifest.json, not a Casewise backup") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive}: backup format {manifest.get('format')} is not supported (expected {FORMAT})")
        for rel, digest in manifest["files"].items():
            path = work / rel
            if not path.is_file() or content_hash(path) != digest:
                raise BackupError(f"{archive}: {rel} is missing or damaged (checksum mismatch)")
        if force and data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if (work / "casewise.db").is_file():
            shutil.copy(work / "casewise.db", data_dir / "casewise.db")
        if (work / "index").is_dir():
            folder = "edge" if manifest["index_backend"] == "edge" else "qdrant"
            shutil.copytree(work / "index", data_dir / folder)
    return verify_restore(manifest, data_dir)


def verify_restore(manifest: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Open the restored data dir and check it holds what the backup said."""
    from app.runtime import Runtime
    from casewise.settings import load_settings

    rt = Runtime(load_settings(data_dir=data_dir, index={"backend": manifest["index_backend"],
                                                         "collection": manifest["collection"]}))
    try:
        got = {"documents": len(rt.store.documents()), "cases": rt.store.count_cases(),
               "chunks": rt.index.count() if "index" not in " ".join(manifest["left_out"]) else manifest["chunks"]}
        ok, entries, bad = rt.store.verify_audit()
    finally:
        rt.close()
    want = {k: manifest[k] for k in ("documents", "cases", "chunks")}
    if got != want:
        raise BackupError(f"restored data does not match the backup: expected {want}, found {got}")
    if not ok or entries != manifest["audit_entries"]:
        raise BackupError(f"the restored audit log is not intact (entry {bad} of {entries})")
    return {**manifest, "restored_to": str(data_dir)}
