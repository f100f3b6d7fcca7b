"""The nightly job's leak scan: after tonight's re-index, the detectors re-read what that run wrote (and only that),
the synthetic clinic's ground truth is looked for in it, and the result is logged and audited as counts per type,
never a value."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api.scheduler import LEAK_SCAN_ACTION, NIGHTLY_ACTOR, after_reindex, nightly_reindex
from api.services.locks import ReadWriteLock
from casewise.store import Store
from casewise.types import Case
from indexing.deid import PhiSpan

NIGHT = dt.datetime(2026, 11, 29, 3, 0, 0)


@dataclass
class _Index:
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def exists(self) -> bool:
        return True

    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]:
        return list(self.payloads.items())[:limit]


class _Deid:
    """Flags every capitalised word pair as a PERSON; remembers what it was asked to read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def pseudonym(self, ref: str) -> str:
        return f"PT-{ref}"

    def date_offset_days(self, key: str) -> int:
        return 3

    def deidentify_many(self, texts: list[str]) -> list[Any]:
        self.read.extend(texts)
        return [SimpleNamespace(spans=[PhiSpan("PERSON", m.start(), m.end())
                                       for m in re.finditer(r"\b[A-Z][a-zñ]+ [A-Z][a-zñ]+\b", t)]) for t in texts]


def _runtime(tmp_path: Path, questions: Path | None = None) -> Any:
    data = tmp_path / "data"
    data.mkdir()
    settings = SimpleNamespace(data_dir=data, deid=SimpleNamespace(shift_dates=True, allow_list=[]),
                               eval=SimpleNamespace(after_reindex=False, questions=questions))
    return SimpleNamespace(settings=settings, index=_Index(), store=Store(f"sqlite:///{data / 'casewise.db'}"),
                           deid=_Deid())


class _Indexing:
    """The index service's job API; `start_reindex` runs `write` (tonight's run) at once."""

    def __init__(self, write: Any, state: str = "done") -> None:
        self.write = write
        self.state = state
        self.jobs: dict[str, Any] = {}

    def default_roots(self) -> list[Path]:
        return [Path("/clinic")]

    def start_reindex(self, roots: list[Path]) -> Any:
        self.write()
        self.jobs["j1"] = SimpleNamespace(job_id="j1", state=self.state)
        return self.jobs["j1"]

    def job(self, job_id: str) -> Any:
        return self.jobs.get(job_id)


def _scans(rt: Any, timeout: float = 30.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in rt.store.audit_entries() if r.action == LEAK_SCAN_ACTION]
        if rows:
            return rows
        time.sleep(0.05)
    return []


def _tonight(rt: Any) -> None:
    rt.index.payloads["p2"] = {"case_id": "PT-2", "text": "Acude con Lucas Pardo (hijo) a control."}
    rt.store.save_case(Case(case_id="PT-2", summary="Gonartrosis; infiltración con mejoría."), "fp2")


def test_the_scheduled_job_scans_only_what_tonight_wrote_and_audits_counts_per_type(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt = _runtime(tmp_path)
    # Last night's writes, with a name the detectors would flag: not tonight's to scan.
    rt.index.payloads["p1"] = {"case_id": "PT-1", "text": "Visto por Marta Ibars."}
    rt.store.save_case(Case(case_id="PT-1", summary="Visto por Marta Ibars."), "fp1")
    caplog.set_level(logging.INFO, logger="api.scheduler")

    job = nightly_reindex(_Indexing(lambda: _tonight(rt)), rt, ReadWriteLock(), clock=lambda: NIGHT)  # type: ignore[arg-type]
    assert job is not None
    rows = _scans(rt)
    assert len(rows) == 1 and rows[0].actor == NIGHTLY_ACTOR
    detail = rows[0].detail
    assert detail["job_id"] == "j1" and detail["scope"] == "written"
    assert detail["prose_checked"] == 2  # tonight's chunk and tonight's case summary
    assert detail["prose_flagged"] == 1 and detail["detector_types"] == {"PERSON": 1}
    assert not any("Marta" in t for t in rt.deid.read)
    assert "identifiers_found" not in detail  # no synthetic clinic of this index: detectors only
    stored = json.dumps([r.detail for r in rt.store.audit_entries()]) + "".join(r.query for r in rt.store.audit_entries())
    for value in ("Lucas", "Pardo", "Marta"):
        assert value not in stored and value not in caplog.text
    assert "by type: PERSON 1" in caplog.text
    assert rt.store.verify_audit()[0]


def test_a_ground_truth_identifier_written_tonight_is_logged_as_an_error_and_audited_by_type(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from eval.questions import normalize_record
    from synth import SAMPLE_DIR, load_ground_truth

    truth = load_ground_truth(SAMPLE_DIR)
    patient = truth.patients[0]
    name = next(i.text for i in patient.phi if i.kind == "patient_name")
    rt = _runtime(tmp_path, questions=SAMPLE_DIR / "ground_truth.json")
    case_id = rt.deid.pseudonym(normalize_record(patient.nhc))

    def tonight() -> None:
        rt.store.save_case(Case(case_id=case_id, summary="Gonartrosis de rodilla."), "fp")
        rt.index.payloads["p9"] = {"case_id": case_id, "text": f"gonartrosis; acude {name.lower()} a control"}

    caplog.set_level(logging.INFO, logger="api.scheduler")
    nightly_reindex(_Indexing(tonight), rt, ReadWriteLock(), clock=lambda: NIGHT)  # type: ignore[arg-type]
    rows = _scans(rt)
    assert len(rows) == 1
    detail = rows[0].detail
    assert detail["identifiers_found"] >= 1 and detail["found_by_type"].get("patient_name") == 1
    assert detail["identifiers_checked"] > 0 and detail["found_in"].get("index payload", 0) >= 1
    assert any(r.levelno == logging.ERROR and "known identifiers" in r.getMessage() for r in caplog.records)
    words = [w for w in name.split() if len(w) > 3]
    assert words and not any(w.lower() in (json.dumps(detail) + caplog.text).lower() for w in words)


def test_no_scan_when_the_night_job_failed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rt = _runtime(tmp_path)
    indexing = _Indexing(lambda: _tonight(rt), state="failed")
    job = indexing.start_reindex([])
    after_reindex(indexing, rt, ReadWriteLock(), job.job_id, None, poll_s=0.01)  # type: ignore[arg-type]
    assert [r for r in rt.store.audit_entries() if r.action == LEAK_SCAN_ACTION] == []
    assert "nightly leak scan skipped" in caplog.text


def test_without_a_state_before_the_night_the_scan_reads_everything(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    rt.index.payloads["p1"] = {"case_id": "PT-1", "text": "Visto por Marta Ibars."}
    indexing = _Indexing(lambda: _tonight(rt))
    job = indexing.start_reindex([])
    after_reindex(indexing, rt, ReadWriteLock(), job.job_id, None, poll_s=0.01)  # type: ignore[arg-type]
    (row,) = [r for r in rt.store.audit_entries() if r.action == LEAK_SCAN_ACTION]
    assert row.detail["scope"] == "everything" and row.detail["detector_types"] == {"PERSON": 2}


@pytest.mark.slow
def test_real_nights_scan_the_new_note_then_nothing(tmp_path: Path) -> None:
    """A real index service and runtime: night 1 indexes three notes of the bundled sample clinic, night 2 a fourth,
    night 3 nothing new. Each night's scan reads what that night wrote; the third reads no prose at all."""
    import shutil

    from api.services.indexing import IndexService
    from app.runtime import Runtime
    from casewise.settings import ApiSettings, load_settings
    from eval.leaks import scan
    from synth import SAMPLE_DIR

    notes = sorted((SAMPLE_DIR / "notes").glob("*.txt"))[:4]
    source = tmp_path / "records"
    source.mkdir()
    for note in notes[:3]:
        shutil.copy(note, source)
    rt = Runtime(load_settings(data_dir=tmp_path / "data", embedding={"model": "bundled:all-minilm-l6-v2"}))
    lock = ReadWriteLock()
    indexing = IndexService(rt, ApiSettings(sources=[source]), lock)
    try:
        nights: list[dict[str, Any]] = []
        for day, new_note in ((1, None), (2, notes[3]), (3, None)):
            if new_note is not None:
                shutil.copy(new_note, source)
            assert nightly_reindex(indexing, rt, lock, clock=lambda d=day: NIGHT + dt.timedelta(days=d)) is not None
            deadline = time.monotonic() + 300
            while len(rows := [r for r in rt.store.audit_entries() if r.action == LEAK_SCAN_ACTION]) < day:
                assert time.monotonic() < deadline, "the nightly leak scan did not run"
                time.sleep(0.2)
            nights.append(rows[-1].detail)
        everything = scan(rt, detectors=False)
    finally:
        indexing.close()
        rt.close()
    first, second, third = nights
    assert all(n["scope"] == "written" for n in nights)
    assert first["prose_checked"] > second["prose_checked"] > 0  # three notes' chunks and cases, then one note's
    assert third["prose_checked"] == 0  # nothing changed: no prose re-read
    assert sum(everything.sources.values()) > third["texts_checked"]
    # The bundled sample's ground truth is this index's: it is looked for every night, and never found.
    assert all(n["identifiers_checked"] > 0 and n["identifiers_found"] == 0 for n in nights[:2])
