"""`casewise backup` / `casewise restore`: a round trip gives back the same documents, cases, points and audit chain,
and the restored data dir answers the same question the same way; damaged archives are refused by name."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.backup import BackupError, create_backup, restore_backup
from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer
from retrieval.search import CaseRetriever

REPO = Path(__file__).resolve().parents[2]
QUESTION = "rodilla con artrosis tratada con plasma rico en plaquetas"


@pytest.fixture(scope="module")
def indexed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("backup_clinic")
    generate_clinic(root / "records", patients=6, seed=5)
    rt = Runtime(load_settings(data_dir=root / "data"))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([root / "records"])
    rt.store.audit("dr-test", "ask", query="[redacted question]", case_ids=["PT-1"])
    rt.close()
    return root / "data"


def _state(data: Path) -> tuple[dict, dict, int, list[str]]:
    rt = Runtime(load_settings(data_dir=data))
    try:
        points = dict(rt.index.all_payloads())
        docs = {d.doc_id: (d.content_hash, d.status, tuple(d.chunk_ids)) for d in rt.store.documents()}
        ok, n, _ = rt.store.verify_audit()
        assert ok
        hits = CaseRetriever(rt.settings, rt.store, rt.index, rt.embedder).similar(QUESTION, k=5)
        return points, docs, n, [h.case_id for h in hits]
    finally:
        rt.close()


def test_backup_then_restore_gives_back_the_same_clinic(indexed_dir: Path, tmp_path: Path) -> None:
    before = _state(indexed_dir)
    rt = Runtime(load_settings(data_dir=indexed_dir))
    try:
        manifest = create_backup(rt, tmp_path / "backups")
    finally:
        rt.close()
    archive = Path(manifest["path"])
    assert archive.is_file() and archive.name.endswith(".tar.gz") and (archive.stat().st_mode & 0o777) == 0o600
    assert manifest["chunks"] == len(before[0]) and manifest["left_out"] == []
    restored = restore_backup(archive, tmp_path / "restored")
    assert restored["documents"] == len(before[1])
    after = _state(tmp_path / "restored")
    assert after == before, "same points, manifest, audit chain and the same answer to the same question"


def test_restore_refuses_a_non_empty_folder_and_a_damaged_archive(indexed_dir: Path, tmp_path: Path) -> None:
    rt = Runtime(load_settings(data_dir=indexed_dir))
    try:
        archive = Path(create_backup(rt, tmp_path / "b.tar.gz")["path"])
    finally:
        rt.close()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(archive, tmp_path / "busy")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="truncated.tar.gz"):
        restore_backup(truncated, tmp_path / "r1")
    not_ours = tmp_path / "other.tar.gz"
    not_ours.write_bytes(gzip.compress(b"just some bytes"))
    with pytest.raises(BackupError, match="other.tar.gz"):
        restore_backup(not_ours, tmp_path / "r2")


def test_backup_and_restore_from_the_command_line(indexed_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "backup", "--data-dir", str(indexed_dir), "--out",
                           str(tmp_path / "cli.tar.gz")], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "backup written" in done.stdout and "CASEWISE_DEID__SECRET" in done.stderr
    back = subprocess.run([sys.executable, "-m", "cli.main", "restore", str(tmp_path / "cli.tar.gz"),
                           "--data-dir", str(tmp_path / "again")], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env=env, check=False)
    assert back.returncode == 0, back.stderr[-1500:]
    assert "audit log intact" in back.stdout
    bad = subprocess.run([sys.executable, "-m", "cli.main", "restore", str(tmp_path / "missing.tar.gz"),
                          "--data-dir", str(tmp_path / "x")], capture_output=True, text=True, timeout=300, cwd=REPO,
                         env=env, check=False)
    assert bad.returncode == 2 and "missing.tar.gz" in bad.stderr and "Traceback" not in bad.stderr
