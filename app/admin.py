"""Admin use cases, each audited once here: the CLI and the API call these and never write audit entries themselves.

Audit entries carry counts, ids and roles; never file paths (they can carry patient names) or secrets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.keys import KeyInfo, create_key, list_keys, revoke_key

if TYPE_CHECKING:
    from app.runtime import Runtime
    from casewise.store import AuditRow
    from indexing.pipeline import IndexReport

Progress = Callable[[int, int], None]


def run_indexer(rt: Runtime, paths: Iterable[Path], *, rebuild: bool = False, progress: Progress | None = None,
                switch_guard: Callable[[], Any] | None = None) -> IndexReport:
    """Index (only what changed) or rebuild into a new collection; not audited (callers audit the request)."""
    indexer = rt.indexer
    if rebuild:
        return indexer.rebuild(list(paths), progress=progress, **({"switch_guard": switch_guard} if switch_guard else {}))
    return indexer.run(list(paths), progress=progress)


def minimal_roots(paths: Iterable[Path]) -> list[Path]:
    """Drop folders that lie inside another folder of the list."""
    roots: list[Path] = []
    for p in sorted({p.resolve() for p in paths}, key=lambda x: len(x.parts)):
        if not any(p.is_relative_to(r) for r in roots):
            roots.append(p)
    return roots


def index(rt: Runtime, paths: Iterable[Path], *, rebuild: bool = False, actor: str = "cli",
          progress: Progress | None = None) -> IndexReport:
    """`casewise index` / `reindex`: run the indexer now and audit what it did (counts only)."""
    roots = list(paths)
    report = run_indexer(rt, roots, rebuild=rebuild, progress=progress)
    rt.store.audit(actor, "rebuild" if rebuild else "index", detail={
        "roots": len(roots), "added": report.added, "changed": report.changed, "deleted": report.deleted,
        "quarantined": len(report.quarantined), "chunks": report.chunks_written})
    return report


def audit_reindex_job(rt: Runtime, actor: str, job_id: str, roots: int, rebuild: bool) -> None:
    """A background re-index asked for through the API: audited when it is accepted."""
    rt.store.audit(actor, "rebuild" if rebuild else "reindex", detail={"job_id": job_id, "roots": roots})


def new_key(rt: Runtime, name: str, role: str, *, actor: str = "cli") -> tuple[KeyInfo, str]:
    info, secret = create_key(rt.store, name, role)
    rt.store.audit(actor, "key_create", detail={"key_id": info.key_id, "role": info.role})
    return info, secret


def keys(rt: Runtime, *, actor: str = "cli") -> list[KeyInfo]:
    listing = list_keys(rt.store)
    rt.store.audit(actor, "keys_list", detail={"keys": len(listing)})
    return listing


def revoke(rt: Runtime, key_id: str, *, actor: str = "cli") -> bool:
    """Revoke a key; False when there is no such key (audited either way, with the outcome)."""
    done = revoke_key(rt.store, key_id)
    rt.store.audit(actor, "key_revoke", detail={"key_id": key_id, "revoked": done})
    return done


def backup(rt: Runtime, dest: Path, *, actor: str = "cli", guard: threading.Lock | None = None) -> dict[str, Any]:
    from app.backup import create_backup

    manifest = create_backup(rt, dest, **({"guard": guard} if guard is not None else {}))
    rt.store.audit(actor, "backup", detail={"documents": manifest["documents"], "chunks": manifest["chunks"]})
    return manifest


def restore(archive: Path, data_dir: Path, *, force: bool = False, actor: str = "cli") -> dict[str, Any]:
    """Restore a backup into `data_dir` (checksums, counts and the audit chain verified), then audit the restore
    in the restored log."""
    from app.backup import restore_backup
    from casewise.settings import load_settings
    from casewise.store import Store

    manifest = restore_backup(archive, data_dir, force=force)
    store = Store.from_settings(load_settings(data_dir=data_dir))
    store.audit(actor, "restore", detail={"documents": manifest["documents"], "chunks": manifest["chunks"]})
    return manifest


def audit_page(rt: Runtime, *, after: int = 0, limit: int = 100, actor: str = "cli") -> list[AuditRow]:
    """Audit entries after `after` (this read is audited too)."""
    from sqlalchemy import select

    from casewise.store import AuditRow

    with rt.store.session() as s:
        rows = list(s.scalars(select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(limit)))
    rt.store.audit(actor, "audit_list", detail={"after": after, "returned": len(rows)})
    return rows


def audit_export(rt: Runtime, out: Path, *, actor: str = "cli") -> int:
    """Every audit entry as one JSON line, with its hashes so the export verifies elsewhere; then audit the export."""
    entries = rt.store.audit_entries()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for r in entries:
            fh.write(json.dumps({"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                                 "query": r.query, "case_ids": r.case_ids, "detail": r.detail,
                                 "prev_hash": r.prev_hash, "hash": r.hash}, ensure_ascii=False, default=str) + "\n")
    rt.store.audit(actor, "audit_export", detail={"entries": len(entries)})
    return len(entries)


def record(rt: Runtime, actor: str, action: str, *, case_ids: list[str] | None = None, **detail: Any) -> None:
    """One audit entry for an admin read or write that has no use case of its own here (documents, reports)."""
    rt.store.audit(actor, action, case_ids=case_ids or [], detail=detail)
