"""Alembic migrations of the system of record on SQLite (tests/kernel/test_store_postgres.py runs them on PostgreSQL).

A fresh database is migrated to the latest revision; a database made by the old `create_all` (no alembic_version)
is adopted with its rows; data at an older revision survives an upgrade; the models and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from casewise import migrations
from casewise.errors import ConfigError
from casewise.store import AuditRow, Base, CaseRow, DocumentRow, Store
from casewise.types import Case, Diagnosis

TABLES = {"documents", "cases", "audit", "api_keys", "job_runs", "alembic_version"}


def _case(cid: str) -> Case:
    return Case(case_id=cid, sex="F", age_band="50-59", language="es",
                diagnoses=[Diagnosis(name="knee_oa", label="gonartrosis")], summary="Gonartrosis; PRP.")


def schema_diff(engine: Engine) -> list[object]:
    """What autogenerate would write to make the database match the models (empty when they agree)."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def old_create_all_database(url: str) -> Store:
    """A database as Casewise made it before migrations: `create_all` of the store's tables, then real rows."""
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[DocumentRow.__table__, CaseRow.__table__, AuditRow.__table__])
    engine.dispose()
    old = Store(url, migrate=False)
    old.upsert_document(doc_id="D1", source_path="/records/n1.txt", doc_type="txt", content_hash="h1",
                        status="indexed", case_id="PT-1", chunk_ids=["c1"], facts={"PT-1": {"dx": ["knee_oa"]}})
    old.save_case(_case("PT-1"), fingerprint="f1")
    old.audit("key:doctor", "ask", "rodilla, 55 F", ["PT-1"])
    old.audit("key:doctor", "similar", "", ["PT-1"])
    old.engine.dispose()
    return old


def assert_rows_kept(store: Store) -> None:
    assert [d.doc_id for d in store.documents()] == ["D1"] and store.get_case("PT-1") == _case("PT-1")
    assert store.case_fingerprints() == {"PT-1": "f1"}
    assert store.verify_audit() == (True, 2, None)


def test_fresh_database_is_migrated_to_the_latest_revision_and_matches_the_models(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cw.db'}")
    assert migrations.current(store.engine) == migrations.head() == "0002_job_runs"
    assert set(inspect(store.engine).get_table_names()) == TABLES
    assert schema_diff(store.engine) == []
    assert [ix["name"] for ix in inspect(store.engine).get_indexes("documents")] == ["ix_documents_case_id"]


def test_database_made_by_create_all_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_create_all_database(url)
    assert "alembic_version" not in inspect(create_engine(url)).get_table_names()

    store = Store(url)  # what every start does now
    assert migrations.current(store.engine) == migrations.head()
    assert_rows_kept(store)
    assert schema_diff(store.engine) == []  # the tables it lacked (API keys, job runs) were created
    from app.keys import authenticate, create_key

    info, secret = create_key(store, "doctor", "clinician")
    found = authenticate(store, secret)
    assert found is not None and (found.key_id, found.role) == (info.key_id, "clinician")
    assert store.claim_run("nightly-reindex", "2026-11-29", "replica-a") is None


def test_data_at_the_baseline_survives_the_upgrade_to_the_next_revision(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cw.db'}", migrate=False)
    assert migrations.upgrade(store.engine, migrations.BASELINE) == "0001_baseline"
    assert "job_runs" not in inspect(store.engine).get_table_names()
    store.upsert_document(doc_id="D1", source_path="/records/n1.txt", doc_type="txt", content_hash="h1",
                          status="indexed", case_id="PT-1", chunk_ids=["c1"], facts={"PT-1": {"dx": ["knee_oa"]}})
    store.save_case(_case("PT-1"), fingerprint="f1")
    store.audit("key:doctor", "ask", "rodilla, 55 F", ["PT-1"])
    store.audit("key:doctor", "similar", "", ["PT-1"])

    assert migrations.upgrade(store.engine) == "0002_job_runs"
    assert_rows_kept(store)
    assert store.claim_run("nightly-reindex", "2026-11-29", "replica-a") is None
    assert store.claim_run("nightly-reindex", "2026-11-29", "replica-b") == "replica-a"


TEST_REVISION = '''"""Test-only revision: an index on the audit actor and a backfilled column."""
import sqlalchemy as sa
from alembic import op

revision = "9001_test"
down_revision = "0002_job_runs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_actor", "audit", ["actor"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("n_chars", sa.Integer(), nullable=True))
    op.execute("UPDATE cases SET n_chars = length(fingerprint)")
'''


def assert_a_new_revision_keeps_existing_rows(url: str, tmp_path: Path) -> None:
    """An old database is adopted, then a new revision (a test-only copy of the scripts plus one) keeps its rows."""
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(migrations.__file__).parent, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_test.py").write_text(TEST_REVISION)
    old_create_all_database(url)
    store = Store(url)  # adopted at the shipped head first, as a running clinic would be

    assert migrations.upgrade(store.engine, script_location=scripts) == "9001_test"
    assert_rows_kept(store)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT case_id, n_chars FROM cases")).all() == [("PT-1", 2)]
    assert "ix_audit_actor" in {ix["name"] for ix in inspect(store.engine).get_indexes("audit")}
    assert migrations.upgrade(store.engine, script_location=scripts) == "9001_test"  # idempotent


def test_a_new_revision_upgrades_existing_data(tmp_path: Path) -> None:
    assert_a_new_revision_keeps_existing_rows(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)


def test_database_newer_than_this_code_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cw.db'}")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(ConfigError, match="9999_future, newer than this Casewise"):
        Store(f"sqlite:///{tmp_path / 'cw.db'}")


def open_store_at(url: str) -> str:
    """Open a store as a starting replica does; its revision afterwards, or the error it met."""
    try:
        return migrations.current(Store(url).engine) or "none"
    except Exception as exc:  # noqa: BLE001 - the caller's assertion shows it
        return repr(exc)[:200]


def test_several_processes_starting_at_once_migrate_one_sqlite_file_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        revisions = pool.map_async(open_store_at, [url] * 4).get(timeout=120)
    assert revisions == ["0002_job_runs"] * 4
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    assert schema_diff(engine) == []


def test_db_commands_report_and_upgrade_the_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.setenv("CASEWISE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    before = runner.invoke(app, ["db", "current"])
    assert before.exit_code == 1 and "revision none (latest 0002_job_runs) behind" in before.output
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0 and "empty -> 0002_job_runs" in up.output
    after = runner.invoke(app, ["db", "current"])
    assert after.exit_code == 0 and "up to date" in after.output


def test_claims_are_per_job_and_day(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cw.db'}")
    day = dt.date(2026, 11, 29)
    assert store.claim_run("nightly-reindex", day.isoformat(), "a") is None
    assert store.claim_run("nightly-reindex", day.isoformat(), "b") == "a"
    assert store.claim_run("nightly-reindex", (day + dt.timedelta(days=1)).isoformat(), "b") is None
    assert store.claim_run("nightly-eval", day.isoformat(), "b") is None
