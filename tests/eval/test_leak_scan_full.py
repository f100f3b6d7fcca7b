"""The leak scan reads everything, or exactly what was written since a state taken earlier (the nightly job's scan);
one filter decides which detector hits count; and `casewise eval run` fails on a ground-truth identifier planted in
a real temporary index, naming its type but never its value."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from eval.leaks import (
    detector_hits,
    everything_stored,
    ground_truth_hits,
    residual_hits,
    scan,
    stored_state,
)
from eval.metrics import KnownIdentifier
from indexing.deid import PhiSpan


@dataclass
class _Index:
    payloads: dict[str, dict[str, Any]]

    def exists(self) -> bool:
        return True

    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]:
        return list(self.payloads.items())[:limit]


@dataclass
class _Settings:
    data_dir: Path
    deid: Any = field(default_factory=lambda: type("D", (), {"shift_dates": True, "allow_list": []})())


@dataclass
class _Store:
    engine: Any


class _Deid:
    """Flags every capitalised word pair as a PERSON and remembers what it was asked to read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def deidentify_many(self, texts: list[str]) -> list[Any]:
        import re

        self.read.extend(texts)
        return [type("R", (), {"spans": [PhiSpan("PERSON", m.start(), m.end())
                                         for m in re.finditer(r"\b[A-Z][a-zñ]+ [A-Z][a-zñ]+\b", t)]})()
                for t in texts]


@dataclass
class _Rt:
    settings: _Settings
    index: _Index
    store: _Store
    deid: _Deid = field(default_factory=_Deid)


def _runtime(tmp_path: Path) -> _Rt:
    data = tmp_path / "data"
    data.mkdir()
    engine = create_engine(f"sqlite:///{data / 'casewise.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE audit (seq INTEGER PRIMARY KEY, query TEXT, detail JSON)"))
        conn.execute(text("INSERT INTO audit (query, detail) VALUES (:q, :d)"),
                     {"q": "rodilla, qué funcionó", "d": json.dumps({"n": 1})})
    return _Rt(_Settings(data), _Index({"p1": {"case_id": "PT-1", "text": "Seen last week by Marta Ibars."}}),
               _Store(engine))


def test_a_scan_since_a_state_reads_only_what_was_written_after_it(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    (rt.settings.data_dir / "old.log").write_text("an old line about Marta Ibars\n", encoding="utf-8")
    before = stored_state(rt)
    assert len(before) >= 3  # the point, the row, the files

    # Tonight's run: one new point, one changed point, one new row, one new log file.
    rt.index.payloads["p2"] = {"case_id": "PT-2", "text": "Attends with Lucas Pardo (son)."}
    rt.index.payloads["p0"] = {"case_id": "PT-0", "text": "no names here"}
    before = stored_state(rt)
    rt.index.payloads["p0"] = {"case_id": "PT-0", "text": "Now with Elena Casas."}
    rt.index.payloads["p3"] = {"case_id": "PT-3", "text": "Referred by Nuria Sola."}
    with rt.store.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (query, detail) VALUES (:q, :d)"),
                     {"q": "what worked for Pedro Ruiz", "d": json.dumps({"n": 2})})
    rt.store.engine.dispose()
    (rt.settings.data_dir / "tonight.log").write_text("a line about Irene Gil\n", encoding="utf-8")

    written = list(everything_stored(rt, since=before))

    def found(name: str) -> dict[str, int]:
        return dict(ground_truth_hits(written, [KnownIdentifier("patient_name", name, None)]).found_in)

    assert found("Marta Ibars") == {}          # last night's point and file are not read again
    assert found("Lucas Pardo") == {}          # written before the state was taken
    assert found("Elena Casas") == {"index payload": 1}   # changed tonight
    assert found("Nuria Sola") == {"index payload": 1}    # new tonight
    # a new row, and the database file it changed (read cell by cell and as bytes)
    assert found("Pedro Ruiz") == {"table audit": 1, "file sqlite": 1, "file .db": 1}
    assert found("Irene Gil") == {"file .log": 1}

    rep = scan(rt, since=before)
    assert rep.prose_checked == 3 and rep.detector_types == {"PERSON": 3}  # p0, p3 and the new audit query
    assert not any("Marta" in t or "Lucas" in t for t in rt.deid.read)
    assert rep.sources["index payload"] == 2 and rep.sources["table audit"] == 1

    # Without a state, everything is read again.
    everything = scan(rt)
    assert everything.sources["index payload"] == 4 and everything.sources["table audit"] == 2


def test_nothing_written_means_nothing_read(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    rt.store.engine.dispose()
    before = stored_state(rt)
    assert list(everything_stored(rt, since=before)) == []


def test_the_detector_scan_and_the_report_share_one_filter_of_what_deidentification_leaves_on_purpose() -> None:
    """A span that cuts through a placeholder (its label and closing bracket) is the de-identifier's own output."""
    from eval.leaks import StoredText

    text = "Dirección: [DIRECCION]. Control con Ana Gil; edad 90+."
    spans = [PhiSpan("ADDRESS", text.index("DIRECCION"), text.index("DIRECCION") + 10),  # 'DIRECCION]'
             PhiSpan("AGE", text.index("90+"), text.index("90+") + 3),
             PhiSpan("PERSON", text.index("Ana"), text.index("Ana") + 7)]
    assert residual_hits(text, spans, dates_kept_shifted=True) == {"PERSON"}

    class Deid:
        def deidentify_many(self, texts: list[str]) -> list[Any]:
            return [type("R", (), {"spans": spans})() for _ in texts]

    rep = detector_hits([StoredText("index payload", "PT-1", text, prose=True)], Deid(),  # type: ignore[arg-type]
                        dates_kept_shifted=True)
    assert dict(rep.detector_types) == {"PERSON": 1} and rep.prose_flagged == 1


# -- `casewise eval run` over a real temporary index with one planted identifier -------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real runtime (embedded Qdrant, SQLite, the bundled MiniLM, the real de-identifier) holding one case of the
    bundled sample clinic: its summary and one chunk, written directly through the store and the index."""
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from casewise.types import Case
    from eval.questions import normalize_record
    from synth import SAMPLE_DIR, load_ground_truth

    truth = load_ground_truth(SAMPLE_DIR)
    question = truth.questions[0]
    patient = next(p for p in truth.patients if p.nhc == question.matching_nhcs[0])
    name = next(i.text for i in patient.phi if i.kind == "patient_name")
    data = tmp_path_factory.mktemp("planted")
    rt = Runtime(load_settings(data_dir=data / "data", embedding={"model": "bundled:all-minilm-l6-v2"}))
    case_id = rt.deid.pseudonym(normalize_record(patient.nhc))
    rt.store.save_case(Case(case_id=case_id, summary="Paciente con gonartrosis; infiltración con mejoría."), "fp")
    rt.index.ensure(rt.embedder.dim)
    yield rt, case_id, name, data
    rt.close()


def _write_chunk(rt: Any, case_id: str, doc_id: str, body: str) -> None:
    from casewise.sparse import sparse_vector
    from casewise.types import Chunk

    chunk = Chunk(chunk_id="", doc_id=doc_id, case_id=case_id, position=0, text=body)
    rt.index.upsert([chunk], rt.embedder.embed_passages([body]), [sparse_vector(body)], {doc_id: doc_id},
                    rt.embedder.identity)


def _eval_run(rt: Any, data: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import typer
    from typer.testing import CliRunner

    import cli.common
    from cli.eval import register_run
    from synth import SAMPLE_DIR

    monkeypatch.setattr(cli.common, "runtime", lambda data_dir=None: rt)
    group = typer.Typer()
    register_run(group)

    @group.callback()
    def _root() -> None:
        pass

    return CliRunner().invoke(group, ["run", "--questions", str(SAMPLE_DIR / "ground_truth.json"), "--limit", "1",
                                      "--report", str(data / "reports"), "--json"])


def test_casewise_eval_run_passes_a_clean_index_and_fails_on_a_planted_ground_truth_name(
        planted: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, case_id, name, data = planted
    _write_chunk(rt, case_id, "doc-clean", "Gonartrosis de rodilla derecha. Infiltración con ácido hialurónico.")
    clean = _eval_run(rt, data, monkeypatch)
    assert clean.exit_code == 0, clean.output
    leak = next(s for s in json.loads(clean.output[clean.output.index("{"):])["sections"] if s["key"] == "leak")
    assert leak["status"] == "ok" and leak["metrics"]["identifiers_checked"] > 0

    _write_chunk(rt, case_id, "doc-leak", f"Gonartrosis de rodilla. Acude {name} a control.")
    res = _eval_run(rt, data, monkeypatch)
    assert res.exit_code == 1, res.output
    assert "leak check failed" in res.output and "patient name" in res.output
    words = [w for w in name.split() if len(w) > 3]
    assert words and not any(w in res.output for w in words)  # the type, never the value
