"""`casewise reindex` (what cron or a systemd timer calls): it asks the running server when the server holds the
embedded index, and runs directly when no server runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import Clinic, Keys, Server

REPO = Path(__file__).resolve().parents[2]


def _casewise(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}, check=False)


def test_reindex_asks_the_running_server_that_holds_the_index(clinic: Clinic, keys: Keys, server: Server) -> None:
    before = len(clinic.runtime.store.documents())
    done = _casewise("reindex", "--data-dir", str(clinic.data_dir), "--server", server.url,
                     env={"CASEWISE_API_KEY": keys.admin})
    assert done.returncode == 0, done.stderr[-1500:]
    assert "asked" in done.stderr and "waiting" in done.stderr
    report = json.loads(done.stdout)
    assert report["unchanged"] == before and report["added"] == report["deleted"] == 0
    assert any(e.action == "reindex" for e in clinic.runtime.store.audit_entries()), "the server audited the job"


def test_reindex_without_a_key_says_what_to_do(clinic: Clinic, server: Server) -> None:
    done = _casewise("reindex", "--data-dir", str(clinic.data_dir), "--server", server.url,
                     env={"CASEWISE_API_KEY": ""})
    assert done.returncode == 2
    assert "CASEWISE_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_reindex_runs_directly_when_no_server_holds_the_index(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "nota.txt").write_text("Paciente con gonartrosis derecha. Se infiltra PRP. EVA 7/10.\n", encoding="utf-8")
    first = _casewise("index", str(records), env={"CASEWISE_DATA_DIR": str(tmp_path / "data")})
    assert first.returncode == 0, first.stderr[-1500:]
    (records / "nota2.txt").write_text("Knee osteoarthritis, hyaluronic acid injection. VAS 6/10.\n", encoding="utf-8")
    again = _casewise("reindex", "--data-dir", str(tmp_path / "data"))
    assert again.returncode == 0, again.stderr[-1500:]
    assert "1 new" in again.stdout and "1 unchanged" in again.stdout


def test_backup_asks_the_running_server_that_holds_the_index(clinic: Clinic, keys: Keys, server: Server,
                                                             tmp_path: Path) -> None:
    done = _casewise("backup", "--data-dir", str(clinic.data_dir), "--server", server.url, "--out",
                     str(tmp_path / "srv.tar.gz"), env={"CASEWISE_API_KEY": keys.admin})
    assert done.returncode == 0, done.stderr[-1500:]
    assert (tmp_path / "srv.tar.gz").is_file() and "backup written" in done.stdout
    restored = _casewise("restore", str(tmp_path / "srv.tar.gz"), "--data-dir", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr[-1500:]
    assert f"{len(clinic.runtime.store.documents())} documents" in restored.stdout
