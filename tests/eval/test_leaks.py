"""The whole-store leak scan: what it reads, that it finds a planted identifier anywhere, and that the bundled sample
clinic, indexed for real, leaves none of its ground-truth identifiers in any stored byte."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from eval.leaks import (
    StoredText,
    everything_stored,
    ground_truth_hits,
    known_identifiers,
    leak_failed,
    leak_scan_section,
    scan,
)
from eval.metrics import KnownIdentifier


@dataclass
class _Index:
    payloads: list[dict[str, Any]]

    def exists(self) -> bool:
        return True

    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]:
        return [(str(i), p) for i, p in enumerate(self.payloads)][:limit]


@dataclass
class _Settings:
    data_dir: Path
    deid: Any = None


@dataclass
class _Store:
    engine: Any


@dataclass
class _Rt:
    settings: _Settings
    index: _Index
    store: _Store
    deid: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _runtime(tmp_path: Path, payloads: list[dict[str, Any]], audit_query: str = "") -> _Rt:
    data = tmp_path / "data"
    data.mkdir()
    engine = create_engine(f"sqlite:///{data / 'casewise.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE audit (seq INTEGER PRIMARY KEY, query TEXT, detail JSON)"))
        conn.execute(text("INSERT INTO audit (query, detail) VALUES (:q, :d)"),
                     {"q": audit_query, "d": json.dumps({"n": 1})})
    return _Rt(_Settings(data), _Index(payloads), _Store(engine))


def _found(texts: Iterator[StoredText] | list[StoredText], needle: str) -> dict[str, int]:
    rep = ground_truth_hits(list(texts), [KnownIdentifier("patient_name", needle, "PT-1")])
    return dict(rep.found_in)


def test_an_identifier_is_found_in_a_payload_however_deep(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [{"case_id": "PT-1", "text": "knee", "meta": {"notes": ["seen with Ana Ortuño"]}}])
    assert _found(everything_stored(rt), "Ana Ortuño") == {"index payload": 1}


def test_an_identifier_is_found_in_the_audit_table_and_in_a_report_file(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [], audit_query="what worked for Ana Ortuño")
    reports = rt.settings.data_dir / "reports" / "run-1"
    reports.mkdir(parents=True)
    (reports / "report.json").write_text(json.dumps({"q": "Ana Ortuño"}), encoding="utf-8")  # escaped: Ortu\u00f1o
    rt.store.engine.dispose()
    found = _found(everything_stored(rt), "ana ortuno")
    assert found.get("table audit") == 1 and found.get("file .json") == 1 and found.get("file sqlite") == 1


def test_an_identifier_in_a_raw_file_is_found_even_when_no_api_reads_it(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [])
    seg = rt.settings.data_dir / "edge" / "segment.dat"
    seg.parent.mkdir()
    seg.write_bytes(b"\x00\x01\x02" * 5000 + b"O'Brien, William" + b"\x00\xff" * 5000)
    assert _found(everything_stored(rt), "William O'Brien") == {}  # the whole name in another order is not there
    assert "file .dat" in _found(everything_stored(rt), "O'Brien")


def test_a_name_inside_a_longer_word_is_no_hit(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, [{"case_id": "PT-1", "text": "tendinosis of the Gilberto muscle"}])
    assert _found(everything_stored(rt), "Gil") == {} and _found(everything_stored(rt), "Gilb") == {}


def test_an_age_inside_a_code_or_a_decimal_is_no_hit(tmp_path: Path) -> None:
    age = [KnownIdentifier("age_over_89", "90 F", "PT-1")]
    (tmp_path / "a").mkdir()
    rt = _runtime(tmp_path / "a", [{"case_id": "PT-1", "text": "knee_oa m17.1 m19.90 F 80-89; VAS 4.90 M"}])
    assert ground_truth_hits(list(everything_stored(rt)), age).leaked == 0
    (tmp_path / "b").mkdir()
    rt = _runtime(tmp_path / "b", [{"case_id": "PT-1", "text": "A 90 F with knee pain."}])
    assert ground_truth_hits(list(everything_stored(rt)), age).leaked == 1


def test_ages_over_89_and_name_words_are_looked_for_but_clinical_words_are_not() -> None:
    @dataclass
    class P:
        patient_id: str
        nhc: str
        age: int
        birth_date: str
        phi: list[Any]

    @dataclass
    class Item:
        kind: str
        text: str

    @dataclass
    class T:
        patients: list[P]

    truth = T([P("p1", "123", 92, "1929-01-02", [Item("patient_name", "Edward Thompson")])])
    known = known_identifiers(truth, {"p1": "PT-1"}, keep_words=["Thompson"])
    texts = {k.text for k in known}
    assert {"92M", "92 y/o", "92 años", "92a", "1929"} <= texts
    assert "Edward" in texts and "Thompson" not in texts  # "Thompson test" is clinical; the full name is still looked for
    assert "Edward Thompson" in texts


class _Deid:
    def pseudonym(self, ref: str) -> str:
        return "PT-1"

    def date_offset_days(self, key: str) -> int:
        return 3

    def deidentify_many(self, texts: list[str]) -> list[Any]:
        return [type("R", (), {"spans": []})() for _ in texts]


@dataclass
class _Item:
    kind: str
    text: str


@dataclass
class _Patient:
    patient_id: str
    nhc: str
    phi: list[Any]


@dataclass
class _Truth:
    patients: list[_Patient]


def _leaking_runtime(tmp_path: Path) -> tuple[_Rt, _Truth]:
    """A stored chunk that still carries a relative's name, and the ground truth that names them."""
    rt = _runtime(tmp_path, [{"case_id": "PT-1", "text": "Attends with Edward Thompson (son)."}])
    rt.deid = _Deid()
    rt.settings.deid = type("D", (), {"shift_dates": True, "allow_list": []})()
    return rt, _Truth([_Patient("p1", "123", [_Item("relative_name", "Edward Thompson")])])


def test_a_ground_truth_hit_fails_the_report_section(tmp_path: Path) -> None:
    rt, truth = _leaking_runtime(tmp_path)
    section = leak_scan_section(rt, truth, {"PT-1"})
    assert section.status == "fail" and section.metrics["identifiers_found"] == 2.0  # the name and its first word
    report = type("Rep", (), {"sections": [section]})()
    assert leak_failed(report)
    assert "Edward" not in json.dumps([t.rows for t in section.tables])  # counts only, never the values


def test_casewise_eval_run_exits_1_naming_the_leaked_types_but_never_the_values(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    import cli.common
    import eval.run
    from cli.eval import register_run
    from eval.report.model import Report

    rt, truth = _leaking_runtime(tmp_path)
    rt.settings.deid.allow_list = []

    def run_eval(rt_: Any, qset: Any, **_: Any) -> Report:
        report = Report(run_id="run-leak", kind="run", title="t", created_at="2026-12-03T00:00:00Z")
        report.add(leak_scan_section(rt_, truth, {"PT-1"}))
        return report

    monkeypatch.setattr(cli.common, "runtime", lambda data_dir=None: rt)
    monkeypatch.setattr(eval.run, "run_eval", run_eval)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "knee pain, what worked?", "language": "en"}) + "\n",
                         encoding="utf-8")
    group = typer.Typer()
    register_run(group)

    @group.callback()
    def _root() -> None:
        pass

    for extra in ([], ["--json"]):
        res = CliRunner().invoke(group, ["run", "--questions", str(questions), "--report", str(tmp_path / "r"), *extra])
        assert res.exit_code == 1, res.output
        assert "leak check failed: 2 known identifiers" in res.output
        assert "relative name 1" in res.output and "relative name word 1" in res.output
        assert "Edward" not in res.output and "Thompson" not in res.output


@pytest.mark.slow
def test_the_indexed_sample_clinic_keeps_no_ground_truth_identifier_in_any_stored_byte(tmp_path: Path) -> None:
    """Index the bundled sample (notes, PDFs, DOCX letters, tables of 200 patients) and read back everything stored:
    every index payload, every row, every file of the data dir. Not one identifier of its ground truth may be there."""
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer
    from synth import SAMPLE_DIR, load_ground_truth

    rt = Runtime(load_settings(data_dir=tmp_path / "data", embedding={"model": "bundled:all-minilm-l6-v2"}))
    try:
        Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([SAMPLE_DIR])
        rep = scan(rt, load_ground_truth(SAMPLE_DIR), detectors=False)
    finally:
        rt.close()
    assert rep.sources["index payload"] > 500 and rep.sources["table cases"] == 200
    assert any(s.startswith("file ") for s in rep.sources)
    assert sum(rep.checked.values()) > 2500
    assert {"patient_name", "relative_name", "age_over_89", "birth_year_over_89", "address"} <= set(rep.checked)
    assert dict(rep.found) == {}, f"identifiers found (kind: count): {dict(rep.found)}, in {dict(rep.found_in)}"


def test_sqlite_cells_are_read_even_when_the_record_spills_over_pages(tmp_path: Path) -> None:
    db = tmp_path / "data" / "x.sqlite"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (v BLOB)")
    conn.execute("INSERT INTO t VALUES (?)", (("x" * 9000 + " Ana Ortuño " + "y" * 9000).encode(),))
    conn.commit()
    conn.close()
    (tmp_path / "other").mkdir()
    rt = _runtime(tmp_path / "other", [])
    found = _found([t for t in everything_stored(rt, [db.parent])], "Ana Ortuño")
    assert found.get("file sqlite") == 1
