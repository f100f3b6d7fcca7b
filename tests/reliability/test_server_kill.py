"""`casewise serve` killed with SIGKILL during ingestion, during a full rebuild and during an answer; a language model
that dies mid-request; the SQLite store held under an exclusive lock. After each restart: no document lost or
duplicated, the index consistent with the manifest, the audit chain intact, answers still served.

One data folder and one real llama.cpp server (SmolLM2-135M) for the module. Four server starts in all: each
restart is the check of the previous crash and the stage of the next, so the tests run in file order on one folder.
Kill points are observed, not guessed: the first manifest row committed, the rebuild's new collection on disk with
its job running, the server's open connection to the model server.
The folder is opened offline (manifest vs index point by point) once the last server has stopped.
(tests/indexing/test_crash.py kills the indexer command itself.)
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.parts import LLAMA_SERVER, llama_cpp_missing, require_part
from tests.reliability.server_process import Served, admin_key, consistency_problems, serve, wait_job

PATIENTS = 5
QUESTION = "Mujer de 60 años con gonartrosis, EVA 7. ¿Qué funcionó en pacientes similares?"


@dataclass
class World:
    clinic: Path
    data: Path
    log: Path
    key: str
    files: set[str]
    llm: dict[str, str]
    llm_proc: subprocess.Popen[bytes] | None = None
    server: Served | None = None
    chunks: int | None = None

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data / 'casewise.db'}?mode=ro", uri=True, timeout=5)

    def manifest_rows(self) -> int:
        try:
            with self.db() as conn:
                return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0

    def start(self) -> Served:
        if self.server is None or self.server.proc.poll() is not None:
            self.server = serve(self.data, self.log, **self.llm)
        return self.server


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from indexing.sources import discover
    from synth import generate_clinic
    from tests.reasoning.reasoning_testdata import smollm2_gguf, start_llama_server, wait_until_serving

    require_part(LLAMA_SERVER, llama_cpp_missing())
    root = tmp_path_factory.mktemp("server-kill")
    clinic = root / "clinic"
    generate_clinic(clinic, patients=PATIENTS, seed=11)
    data = root / "data"
    files = {str(p) for p in discover([clinic], ["**/*"], ["**/.*", "**/~$*"])}
    llama = start_llama_server(smollm2_gguf(), root / "llama.log")  # type: ignore[arg-type]
    wait_until_serving(llama, timeout_s=90)
    llm_proc, base = llama.proc, llama.url
    # On CPU the prompt's prefill alone keeps the model busy for seconds: time to kill something mid-answer.
    llm = {"CASEWISE_LLM__BACKEND": "openai", "CASEWISE_LLM__BASE_URL": base, "CASEWISE_LLM__MODEL": "smollm2",
           "CASEWISE_LLM__MAX_RETRIES": "0", "CASEWISE_LLM__TIMEOUT_S": "300", "CASEWISE_LLM__MAX_TOKENS": "32",
           "CASEWISE_LLM__TEMPERATURE": "0",
           "CASEWISE_RETRIEVAL__MIN_CASES": "1"}  # a 5-patient clinic: let every question reach the model
    w = World(clinic=clinic, data=data, log=root / "serve.log", key=admin_key(data), files=files, llm=llm,
              llm_proc=llm_proc)
    yield w
    if w.server is not None:
        w.server.stop()
    if w.llm_proc and w.llm_proc.poll() is None:
        w.llm_proc.kill()
        w.llm_proc.wait()


def _ask_in_background(s: Served, key: str, stream: bool) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def run() -> None:
        try:
            with s.client(key) as c:
                r = c.post("/v1/ask", json={"question": QUESTION, "k": 2, "stream": stream}, timeout=600)
                out["status"], out["body"] = r.status_code, r.text
        except httpx.HTTPError as exc:
            out["error"] = type(exc).__name__

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _job_state(c: httpx.Client, job_id: str) -> dict:  # type: ignore[type-arg]
    return c.get(f"/v1/index/jobs/{job_id}").json()  # type: ignore[no-any-return]


def test_kill_9_during_ingestion_then_restart_loses_and_duplicates_nothing(world: World) -> None:
    s = world.start()
    with s.client(world.key) as c:
        assert c.post("/v1/index/reindex", json={"paths": [str(world.clinic)]}).status_code == 202
        # Kill in the middle of the writes: as soon as the first manifest row is committed.
        deadline = time.monotonic() + 300
        while world.manifest_rows() == 0:
            assert s.proc.poll() is None and time.monotonic() < deadline, "the job wrote nothing"
            time.sleep(0.02)
    s.kill9()
    assert world.manifest_rows() > 0

    s = world.start()
    with s.client(world.key) as c:
        job = wait_job(c, c.post("/v1/index/reindex", json={"paths": [str(world.clinic)]}).json()["job_id"])
        assert job["state"] == "done", job
        docs = c.get("/v1/documents").json()
        assert sorted(d["source_path"] for d in docs["documents"]) == sorted(world.files), "lost or duplicated"
        assert docs["counts"] == {"indexed": len(world.files)}
        world.chunks = c.get("/v1/index/status").json()["chunks"]
        assert c.get("/v1/audit/verify").json()["ok"] is True


def _wait_for_model_call(server_pid: int, llm_url: str, timeout: float = 300) -> None:
    """Block until the server holds an open connection to the model server: the answer is being written."""
    import psutil

    port = int(llm_url.rsplit(":", 1)[1].split("/")[0])
    deadline = time.monotonic() + timeout
    while not any(c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
                  for c in psutil.Process(server_pid).net_connections(kind="tcp")):
        assert time.monotonic() < deadline, "the model was never called"
        time.sleep(0.02)


def test_kill_9_during_an_answer_then_restart_answers_and_the_audit_chain_holds(world: World) -> None:
    assert world.chunks, "needs the folder indexed by the previous test"
    s = world.start()
    answer, result = _ask_in_background(s, world.key, stream=True)
    _wait_for_model_call(s.proc.pid, world.llm["CASEWISE_LLM__BASE_URL"])  # the model is writing the answer
    s.kill9()
    answer.join(timeout=60)
    assert "status" not in result or result["status"] == 200  # cut off: no answer, never a wrong one
    if "body" in result:
        assert "event: answer" not in str(result["body"])

    s = world.start()
    with s.client(world.key) as c:
        r = c.post("/v1/cases/similar", json={"description": QUESTION, "k": 3})
        assert r.status_code == 200 and r.json()["cases"]
        assert c.get("/v1/audit/verify").json()["ok"] is True


def test_kill_9_during_a_rebuild_keeps_the_live_index_and_a_new_rebuild_completes(world: World) -> None:
    assert world.chunks, "needs the folder indexed by the first test"
    s = world.start()
    with s.client(world.key) as c:
        before = {p.name for p in (world.data / "edge").iterdir() if p.is_dir()}
        job_id = c.post("/v1/index/reindex", json={"paths": [str(world.clinic)], "rebuild": True}).json()["job_id"]
        deadline = time.monotonic() + 300
        while not {p.name for p in (world.data / "edge").iterdir() if p.is_dir()} - before:
            state = _job_state(c, job_id)
            assert state["state"] in ("queued", "running"), f"the rebuild is {state['state']}: {state.get('error')}"
            assert time.monotonic() < deadline, "the rebuild never created its collection"
            time.sleep(0.05)
        time.sleep(1.0)  # parsing, de-identifying and embedding into the new collection
        state = _job_state(c, job_id)
        assert state["state"] == "running", f"the rebuild is {state['state']} already: kill it earlier"
        s.kill9()

    s = world.start()
    with s.client(world.key) as c:
        assert c.get("/v1/index/status").json()["chunks"] == world.chunks, "the live collection changed"
        r = c.post("/v1/cases/similar", json={"description": QUESTION, "k": 3})
        assert r.status_code == 200 and r.json()["cases"], "the live index no longer answers"
        job = wait_job(c, c.post("/v1/index/reindex", json={"paths": [str(world.clinic)], "rebuild": True})
                       .json()["job_id"])
        assert job["state"] == "done", f"a rebuild after the killed one failed: {job.get('error')}"
        assert c.get("/v1/index/status").json()["chunks"] == world.chunks
        assert len([p for p in (world.data / "edge").iterdir() if p.is_dir()]) == 1, "a half-built collection stayed"


def test_a_dying_model_and_a_locked_store_give_clear_answers_and_a_clean_restart(world: World) -> None:
    assert world.chunks, "needs the folder indexed by the first test"
    s = world.start()
    # The model server dies while it works on the answer: a 502 naming the model server, no answer, no traceback.
    answer, result = _ask_in_background(s, world.key, stream=False)
    _wait_for_model_call(s.proc.pid, world.llm["CASEWISE_LLM__BASE_URL"])
    assert world.llm_proc is not None
    world.llm_proc.kill()
    world.llm_proc.wait()
    answer.join(timeout=120)
    assert result.get("status") == 502, result
    error = httpx.Response(502, text=str(result["body"])).json()["error"]
    assert error["code"] == "llm_error" and "\n" not in error["message"], error

    # Another process holds the SQLite store under an exclusive lock for 2 s: the request waits, then answers.
    lock = sqlite3.connect(str(world.data / "casewise.db"), timeout=5, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    with s.client(world.key) as c:
        box: dict[str, int] = {}
        t = threading.Thread(target=lambda: box.update(status=c.post(
            "/v1/cases/similar", json={"description": QUESTION, "k": 3}).status_code), daemon=True)
        t.start()
        time.sleep(2.0)
        assert t.is_alive(), "the audited request did not wait for the lock"
        lock.execute("COMMIT")
        lock.close()
        t.join(timeout=120)
        assert box.get("status") == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["llm"].startswith("unreachable")
    s.stop()
    assert "Traceback" not in world.log.read_text(errors="replace")
    assert consistency_problems(world.data, world.files) == []
