"""Full rebuilds (new chunking or embedding model): built beside the live collection, switched atomically by alias;
queries keep working throughout, and a rebuild killed midway leaves the live index as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("rebuild_clinic")
    generate_clinic(root, patients=8, seed=21)
    return root


def _runtime(data: Path, words: int = 160) -> Runtime:
    return Runtime(load_settings(data_dir=data, chunking={"max_words": words, "overlap_words": 10}))


def _snapshot(rt: Runtime) -> dict[str, dict]:
    return dict(rt.index.all_payloads())


def test_rebuild_with_new_chunking_equals_a_clean_index_and_switches_the_alias(small_clinic: Path,
                                                                                tmp_path: Path) -> None:
    rt = _runtime(tmp_path / "live")
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([small_clinic])
    before = rt.index.count()
    rt.close()

    rt = _runtime(tmp_path / "live", words=40)  # the clinic changed its chunking
    report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).rebuild([small_clinic])
    assert report.quarantined == [] and report.added + report.changed > 0
    alias = rt.settings.index.collection
    assert rt.index.target() == f"{alias}_v2" and rt.index.physical_names() == [f"{alias}_v2"], "old one dropped"
    rebuilt = _snapshot(rt)
    assert len(rebuilt) > before, "smaller chunks: more points"
    rt.close()

    clean = _runtime(tmp_path / "clean", words=40)
    Indexer(clean.settings, clean.store, clean.index, clean.embedder, clean.deid).run([small_clinic])
    expected = _snapshot(clean)
    clean.close()
    assert set(rebuilt) == set(expected), "same point ids as a clean index with the new chunking"
    assert {k: {f: v for f, v in p.items() if f != "doc_id"} for k, p in rebuilt.items()} == {
        k: {f: v for f, v in p.items() if f != "doc_id"} for k, p in expected.items()}


def test_queries_during_a_rebuild_are_answered_from_the_live_index(small_clinic: Path, tmp_path: Path) -> None:
    rt = _runtime(tmp_path / "data")
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([small_clinic])
    qvec = rt.embedder.embed_queries(["rodilla con artrosis tratada con PRP"])[0]
    answered: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answered.append(len(rt.index.dense_search(qvec, flt=None, limit=5)))
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(repr(exc))

    worker = threading.Thread(target=ask)
    worker.start()
    try:
        Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).rebuild([small_clinic])
    finally:
        stop.set()
        worker.join()
    rt.close()
    assert failures == []
    assert len(answered) > 5 and min(answered) == 5, "every query during the rebuild found cases"


def test_a_rebuild_outside_the_indexed_folders_is_refused(small_clinic: Path, tmp_path: Path) -> None:
    rt = _runtime(tmp_path / "data")
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([small_clinic])
    from casewise.errors import InputFileError

    with pytest.raises(InputFileError, match="not among the folders to rebuild"):
        Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).rebuild([small_clinic / "notes"])
    assert rt.index.target() == f"{rt.settings.index.collection}_v1"
    rt.close()


def test_a_rebuild_killed_midway_leaves_the_live_index_intact(small_clinic: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = _runtime(data)
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([small_clinic])
    before = _snapshot(rt)
    rt.close()
    script = textwrap.dedent(f"""
        from pathlib import Path
        from app.runtime import Runtime
        from casewise.settings import load_settings
        from indexing.pipeline import Indexer
        rt = Runtime(load_settings(data_dir=Path({str(data)!r}), chunking={{"max_words": 40, "overlap_words": 10}}))
        Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).rebuild([Path({str(small_clinic)!r})])
        print("FINISHED")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    half_built = data / "edge" / "casewise_chunks_v2"
    deadline = time.monotonic() + 120
    while not half_built.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # let it write part of the new collection
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert b"FINISHED" not in out, "the rebuild must have been cut short for this test to mean anything"

    rt = _runtime(data)
    assert rt.index.target() == "casewise_chunks_v1"
    assert _snapshot(rt) == before, "the live collection is exactly as it was"
    # The cut rebuild wrote its chunking's point ids into the manifest; the next incremental run repairs that.
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([small_clinic])
    live_ids = set(_snapshot(rt))
    assert all(set(d.chunk_ids) <= live_ids for d in rt.store.documents()), "manifest and live index agree again"
    assert _snapshot(rt) == before
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).rebuild([small_clinic])
    assert rt.index.physical_names() == [rt.index.target()], "the half-built collection was cleaned up"
    rt.close()
