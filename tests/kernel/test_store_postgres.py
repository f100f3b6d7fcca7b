"""PostgreSQL as the system of record, through the same SQLAlchemy layer as SQLite.

A real PostgreSQL server is started on 127.0.0.1 in a temporary folder (initdb + pg_ctl; as `nobody` when the tests
run as root, which PostgreSQL refuses). Its TimeZone is Europe/Madrid, as a clinic's server may well be: timestamps
come back in that zone, and the audit chain must still verify. The server programs are found on PATH or in Debian's
/usr/lib/postgresql/<version>/bin; without them (or psycopg) the tests skip here and fail under CI=true (tests/parts.py).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from casewise.settings import load_settings
from casewise.store import Store
from casewise.types import Case, Diagnosis, Treatment
from tests.parts import POSTGRESQL, postgres_missing, postgres_program, require_part, runuser_program
from tests.reasoning.reasoning_testdata import free_port


def _as_postgres_user(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    prefix = [str(runuser_program()), "-u", "nobody", "--"] if os.geteuid() == 0 else []
    res = subprocess.run(prefix + cmd, check=False, capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        pytest.fail(f"{Path(cmd[0]).name} failed ({res.returncode}): {(res.stderr or res.stdout)[-800:]}")
    return res


@contextmanager
def running_postgres() -> Iterator[str]:
    """A real PostgreSQL server in a temporary folder for the block; yields its SQLAlchemy URL (database postgres)."""
    require_part(POSTGRESQL, postgres_missing())
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    assert initdb and pg_ctl
    # Not under pytest's tmp folder: as root that one is closed to the `nobody` user the server runs as.
    root = Path(tempfile.mkdtemp(prefix="casewise-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
    data, port = root / "data", free_port()
    _as_postgres_user([initdb, "-D", str(data), "-U", "casewise", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"])
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c timezone=Europe/Madrid -c fsync=off"
    _as_postgres_user([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o", opts, "start"])
    try:
        yield f"postgresql+psycopg://casewise@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


def _case(cid: str) -> Case:
    return Case(case_id=cid, sex="F", age_band="50-59", language="es",
                diagnoses=[Diagnosis(name="knee_oa", label="gonartrosis")],
                treatments=[Treatment(name="prp", label="PRP", date=dt.date(2024, 3, 1), sessions=3)],
                summary="Gonartrosis tratada con PRP; mejoría a los 6 meses.")


def test_settings_url_reaches_postgresql_and_manifest_and_cases_round_trip(pg_url: str, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, database_url=pg_url)
    store = Store.from_settings(settings)
    assert store.engine.dialect.name == "postgresql"
    store.upsert_document(doc_id="D1", source_path="/records/n1.txt", doc_type="txt", content_hash="h1",
                          status="indexed", case_id="PT-1", chunk_ids=["c1", "c2"], facts={"PT-1": {"dx": ["knee_oa"]}})
    store.upsert_document(doc_id="D1", source_path="/records/n1.txt", doc_type="txt", content_hash="h2",
                          status="indexed", case_id="PT-1", chunk_ids=["c3"], facts={})
    (row,) = [r for r in store.documents() if r.doc_id == "D1"]
    assert (row.content_hash, row.chunk_ids) == ("h2", ["c3"])
    assert store.document_by_path("/records/n1.txt") is not None

    store.save_case(_case("PT-1"), fingerprint="f1")
    store.save_case(_case("PT-2"), fingerprint="f2")
    assert store.get_case("PT-1") == _case("PT-1")  # Spanish text and dates survive the JSON column
    assert set(store.get_cases(["PT-1", "PT-2", "PT-9"])) == {"PT-1", "PT-2"}
    assert store.case_fingerprints()["PT-2"] == "f2"
    store.delete_case("PT-2")
    store.delete_document("D1")
    assert store.count_cases() == 1 and store.document_by_path("/records/n1.txt") is None


def test_audit_chain_verifies_when_the_server_is_not_on_utc(pg_url: str) -> None:
    store = Store(pg_url)
    store.audit("key:doctor1", "ask", "rodilla, 55 F", ["PT-1"], {"k": 8})
    store.audit("key:doctor2", "similar", "", ["PT-1", "PT-2"])
    entries = store.audit_entries()
    assert entries[-1].at.utcoffset() != dt.timedelta(0)  # PostgreSQL answers in Europe/Madrid
    ok, n, bad = store.verify_audit()
    assert ok and bad is None and n == len(entries)


def test_two_processes_appending_keep_one_audit_chain(pg_url: str) -> None:
    first, second = Store(pg_url), Store(pg_url)  # two engines, as two API replicas or API + CronJob would hold
    start = len(first.audit_entries())

    def append(store: Store, actor: str) -> None:
        for i in range(25):
            store.audit(actor, "ask", f"q{i}")

    threads = [threading.Thread(target=append, args=(s, a)) for s, a in ((first, "key:a"), (second, "key:b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = first.audit_entries()
    assert len(entries) == start + 50
    prevs = [e.prev_hash for e in entries]
    assert len(set(prevs)) == len(prevs), "two entries chained to the same predecessor: the chain forked"
    assert second.verify_audit()[0]


def fresh_database(pg_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def test_indexing_a_clinic_and_api_keys_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    from app.keys import authenticate, create_key
    from app.runtime import Runtime
    from indexing.pipeline import Indexer
    from synth import generate_clinic

    clinic = tmp_path / "clinic"
    generate_clinic(clinic, patients=3, seed=11)
    url = fresh_database(pg_url, "clinic")
    rt = Runtime(load_settings(data_dir=tmp_path / "data", database_url=url))
    try:
        indexer = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid)
        first = indexer.run([clinic])
        assert first.added > 0 and first.cases >= 3 and not first.quarantined
        points = rt.index.count()
        assert rt.store.count_cases() >= 3 and points >= first.chunks_written
        again = indexer.run([clinic])  # nightly run, nothing changed: the manifest in PostgreSQL says so
        assert (again.added, again.changed, again.unchanged, again.chunks_written) == (0, 0, first.added, 0)
        assert rt.index.count() == points

        info, secret = create_key(rt.store, "doctor", "clinician")
        found = authenticate(rt.store, secret)
        assert found is not None and found.key_id == info.key_id
    finally:
        rt.close()


# -- migrations (Alembic) on PostgreSQL ----------------------------------------------------------------------------


def test_fresh_postgresql_database_is_migrated_to_head_and_matches_the_models(pg_url: str) -> None:
    from casewise import migrations
    from tests.kernel.test_migrations import TABLES, schema_diff

    store = Store(fresh_database(pg_url, "fresh"))
    assert migrations.current(store.engine) == migrations.head()
    from sqlalchemy import inspect

    assert set(inspect(store.engine).get_table_names()) == TABLES
    assert schema_diff(store.engine) == []


def test_postgresql_database_made_by_create_all_is_adopted_with_its_rows(pg_url: str) -> None:
    from casewise import migrations
    from tests.kernel.test_migrations import assert_rows_kept, old_create_all_database, schema_diff

    url = fresh_database(pg_url, "legacy")
    old_create_all_database(url)
    store = Store(url)
    assert migrations.current(store.engine) == migrations.head()
    assert_rows_kept(store)
    assert schema_diff(store.engine) == []
    assert store.claim_run("nightly-reindex", "2026-11-29", "replica-a") is None
    assert store.claim_run("nightly-reindex", "2026-11-29", "replica-b") == "replica-a"


def test_a_new_revision_upgrades_existing_postgresql_data(pg_url: str, tmp_path: Path) -> None:
    from tests.kernel.test_migrations import assert_a_new_revision_keeps_existing_rows

    assert_a_new_revision_keeps_existing_rows(fresh_database(pg_url, "next_revision"), tmp_path)


def test_replicas_starting_at_once_migrate_one_postgresql_database_once(pg_url: str) -> None:
    """Six processes (as six replicas) open the same fresh database at once: all start, the schema is made once."""
    import multiprocessing

    from sqlalchemy import text

    from casewise import migrations
    from tests.kernel.test_migrations import open_store_at

    url = fresh_database(pg_url, "replicas")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        revisions = pool.map_async(open_store_at, [url] * 6).get(timeout=120)
    assert revisions == [migrations.head()] * 6
    with Store(url).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
