"""The system of record (SQLAlchemy; a SQLite file by default, PostgreSQL by URL).

Holds the manifest (one row per source document), the assembled de-identified cases, the audit log, the API keys
and which replica ran each scheduled job. The vector index is derived from this store and can always be rebuilt from
it plus the source files. The schema is owned by the Alembic migrations in `casewise.migrations`: opening a store
brings its database to the latest revision (`casewise db upgrade` does the same by hand).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from casewise.settings import Settings
from casewise.types import Case


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class DocumentRow(Base):
    """Manifest entry: what was seen at a path, and what the index holds for it."""

    __tablename__ = "documents"
    doc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_path: Mapped[str] = mapped_column(Text, unique=True)
    doc_type: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | indexed | quarantined
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    chunk_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # De-identified facts extracted per case from this document, so cases re-assemble without re-parsing it.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class CaseRow(Base):
    __tablename__ = "cases"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # hash of the document facts it was built from
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class AuditRow(Base):
    """Append-only, hash-chained record of every question and every case returned."""

    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text, default="")
    case_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiKeyRow(Base):
    """Stored API key (never the secret itself); `app.keys` creates and checks them."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobRunRow(Base):
    """One scheduled run (a job and its run key, e.g. a night's date) and the replica that claimed it."""

    __tablename__ = "job_runs"
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


GENESIS = "0" * 64
# The network address of whoever the current API request comes from (set per request by api.middleware; the client
# a trusted proxy forwards when api.trust_proxy_headers is on). Audit entries written during the request carry it.
AUDIT_CLIENT: ContextVar[str | None] = ContextVar("audit_client", default=None)
AUDIT_LOCK_KEY = 0x43415345  # PostgreSQL advisory lock serializing audit appends across processes


def _audit_digest(prev_hash: str, at: dt.datetime, actor: str, action: str, query: str, case_ids: list[str],
                  detail: dict[str, Any]) -> str:
    body = json.dumps(
        # UTC, naive: SQLite returns what was written, PostgreSQL returns it in the server's TimeZone.
        [prev_hash, (at.astimezone(dt.UTC) if at.tzinfo else at).replace(tzinfo=None).isoformat(), actor, action,
         query, case_ids, detail],
        sort_keys=True, ensure_ascii=False, default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Store:
    """Thin data-access layer over one SQLAlchemy engine."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.engine: Engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:  # every replica may do this at once: the migration runs under a database-wide lock
            from casewise.migrations import upgrade

            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # One writer at a time extends the chain; across processes the database's own locking serializes.
        self._audit_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Store:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(settings.db_url, migrate=migrate)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    # -- manifest ---------------------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(select(DocumentRow).order_by(DocumentRow.source_path)))

    def document_by_path(self, path: str) -> DocumentRow | None:
        with self.session() as s:
            return s.scalars(select(DocumentRow).where(DocumentRow.source_path == path)).first()

    def upsert_document(self, **fields: Any) -> None:
        with self.session() as s:
            row = s.get(DocumentRow, fields["doc_id"])
            if row is None:
                s.add(DocumentRow(**fields))
            else:
                for k, v in fields.items():
                    setattr(row, k, v)

    def forget_content_hashes(self) -> int:
        """Make the next incremental run re-process every document (after a rebuild was cut short)."""
        with self.session() as s:
            rows = list(s.scalars(select(DocumentRow)))
            for row in rows:
                row.content_hash = ""
            return len(rows)

    def delete_document(self, doc_id: str) -> None:
        with self.session() as s:
            row = s.get(DocumentRow, doc_id)
            if row is not None:
                s.delete(row)

    # -- cases ------------------------------------------------------------------------------------------------
    def save_case(self, case: Case, fingerprint: str) -> None:
        with self.session() as s:
            row = s.get(CaseRow, case.case_id)
            data = case.model_dump(mode="json")
            if row is None:
                s.add(CaseRow(case_id=case.case_id, data=data, fingerprint=fingerprint))
            else:
                row.data = data
                row.fingerprint = fingerprint

    def delete_case(self, case_id: str) -> None:
        with self.session() as s:
            row = s.get(CaseRow, case_id)
            if row is not None:
                s.delete(row)

    def case_fingerprints(self) -> dict[str, str]:
        with self.session() as s:
            return {cid: fp for cid, fp in s.execute(select(CaseRow.case_id, CaseRow.fingerprint))}

    def get_case(self, case_id: str) -> Case | None:
        with self.session() as s:
            row = s.get(CaseRow, case_id)
            return Case.model_validate(row.data) if row else None

    def get_cases(self, case_ids: list[str]) -> dict[str, Case]:
        with self.session() as s:
            rows = s.scalars(select(CaseRow).where(CaseRow.case_id.in_(case_ids)))
            return {r.case_id: Case.model_validate(r.data) for r in rows}

    def count_cases(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(CaseRow)) or 0)

    # -- scheduled jobs ---------------------------------------------------------------------------------------
    def claim_run(self, job: str, run_key: str, owner: str) -> str | None:
        """Claim one run of a scheduled job for `owner`; None when claimed, else the owner that claimed it first.

        The (job, run_key) primary key makes the claim atomic on SQLite and PostgreSQL alike: of several replicas
        sharing the database exactly one inserts the row.
        """
        try:
            with self.session() as s:
                s.add(JobRunRow(job=job, run_key=run_key, owner=owner[:128], claimed_at=_now()))
        except IntegrityError:
            with self.session() as s:
                row = s.get(JobRunRow, (job, run_key))
                return row.owner if row else "unknown"
        return None

    # -- audit ------------------------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, query: str = "", case_ids: list[str] | None = None,
              detail: dict[str, Any] | None = None) -> AuditRow:
        """Append one audit entry chained to the previous one. `query` must already be de-identified."""
        case_ids = list(case_ids or [])
        detail = dict(detail or {})
        client = AUDIT_CLIENT.get()
        if client and "client" not in detail:
            detail["client"] = client
        with self._audit_lock, self.session() as s:
            if s.get_bind().dialect.name == "postgresql":  # other processes append too: one chain, no forks
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
            last = s.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
            prev = last.hash if last else GENESIS
            at = _now()
            row = AuditRow(at=at, actor=actor, action=action, query=query, case_ids=case_ids, detail=detail,
                           prev_hash=prev, hash=_audit_digest(prev, at, actor, action, query, case_ids, detail))
            s.add(row)
        return row

    def audit_entries(self) -> list[AuditRow]:
        with self.session() as s:
            return list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))

    def verify_audit(self) -> tuple[bool, int, int | None]:
        """Recompute the hash chain. Returns (ok, entries checked, first bad seq)."""
        prev = GENESIS
        entries = self.audit_entries()
        for row in entries:
            digest = _audit_digest(prev, row.at, row.actor, row.action, row.query, row.case_ids, row.detail)
            if row.prev_hash != prev or row.hash != digest:
                return False, len(entries), row.seq
            prev = row.hash
        return True, len(entries), None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
