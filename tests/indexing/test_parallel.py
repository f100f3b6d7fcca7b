"""Parsing in worker processes (ingest.workers) gives exactly the index a single process gives: same point ids,
payloads, cases and quarantine reasons; only faster on a machine with spare cores (bench.ingest measures it)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer


def _index(folder: Path, data: Path, workers: int) -> tuple[dict[str, dict], dict[str, dict], list[tuple[str, str]]]:
    rt = Runtime(load_settings(data_dir=data, ingest={"workers": workers}))
    try:
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([folder])
        points = {pid: payload for pid, payload in rt.index.all_payloads()}
        cases = {c.case_id: c.model_dump(mode="json") for c in rt.store.get_cases(
            list(rt.store.case_fingerprints())).values()}
    finally:
        rt.close()
    return points, cases, sorted((Path(p).name, why) for p, why in report.quarantined)


def test_worker_processes_give_the_same_index_as_one_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from synth import generate_clinic

    folder = tmp_path / "clinic"
    generate_clinic(folder, patients=5, seed=5)  # notes ES/EN, PDF, DOCX, CSV and XLSX
    (folder / "vacío.txt").write_bytes(b"")
    (folder / "roto.pdf").write_bytes(b"%PDF-1.7\n garbage")
    inline = _index(folder, tmp_path / "one", workers=0)
    with caplog.at_level(logging.INFO, logger="indexing.pipeline"):
        pooled = _index(folder, tmp_path / "two", workers=2)
    assert any("in 2 worker process(es)" in r.getMessage() for r in caplog.records), "the workers were used"
    points, cases, quarantined = pooled
    assert quarantined == inline[2] and {name for name, _ in quarantined} == {"vacío.txt", "roto.pdf"}
    assert set(points) == set(inline[0]), "the same point ids: no missing or extra chunk"
    assert points == inline[0], "the same de-identified text and payloads"
    assert cases == inline[1], "the same assembled cases"
