"""`casewise index` run from cron scans what that run wrote, as the nightly job inside `casewise serve` does: the
de-identifier's detectors over the new prose and, for the synthetic clinic, its ground truth over every stored text
the run wrote; counts per type on the terminal and in the audit log, never a value; a ground-truth hit exits 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval.leaks import LEAK_SCAN_ACTION


def _runtime(data: Path, **deid: Any) -> Any:
    from app.runtime import Runtime
    from casewise.settings import load_settings

    overrides: dict[str, Any] = {"data_dir": data, "embedding": {"model": "bundled:all-minilm-l6-v2"}}
    if deid:
        overrides["deid"] = deid
    return Runtime(load_settings(**overrides))


def _invoke(monkeypatch: pytest.MonkeyPatch, rt: Any, args: list[str]) -> Any:
    import cli.index
    from cli.main import app

    monkeypatch.setattr(cli.index, "runtime", lambda data_dir=None, **_: rt)
    return CliRunner().invoke(app, args)


def _scans(rt: Any) -> list[dict[str, Any]]:
    return [e.detail for e in rt.store.audit_entries() if e.action == LEAK_SCAN_ACTION and e.actor == "cli"]


def _sample_notes(n: int) -> list[Path]:
    from synth import SAMPLE_DIR

    return sorted((SAMPLE_DIR / "notes").glob("*.txt"))[:n]


def test_index_scans_what_each_run_wrote_and_finds_no_identifier_of_the_bundled_clinic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notes = _sample_notes(3)
    records = tmp_path / "records"
    records.mkdir()
    for note in notes[:2]:
        shutil.copy(note, records)
    rt = _runtime(tmp_path / "data")
    try:
        first = _invoke(monkeypatch, rt, ["index", str(records)])
        assert first.exit_code == 0, first.output
        shutil.copy(notes[2], records)
        second = _invoke(monkeypatch, rt, ["index", str(records)])
        assert second.exit_code == 0, second.output
        third = _invoke(monkeypatch, rt, ["index", str(records)])  # nothing new
        assert third.exit_code == 0, third.output
        scans = _scans(rt)
        assert rt.store.verify_audit()[0]
    finally:
        rt.close()
    assert len(scans) == 3 and all(s["scope"] == "written" for s in scans)
    # the bundled sample's ground truth is this index's: looked for after every run, never found
    assert all(s["identifiers_checked"] > 0 and s["identifiers_found"] == 0 for s in scans)
    assert scans[0]["prose_checked"] > scans[1]["prose_checked"] > 0  # two notes' chunks and cases, then one's
    assert scans[2]["prose_checked"] == 0
    assert "known identifiers of the synthetic clinic looked for, 0 found" in first.output


def test_a_ground_truth_identifier_the_run_wrote_fails_the_command_naming_its_type_not_its_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synth import SAMPLE_DIR, load_ground_truth

    truth = load_ground_truth(SAMPLE_DIR)
    known = [i.text for p in truth.patients for i in p.phi if i.kind == "patient_name"]
    note, names = next((n, found) for n in _sample_notes(100)
                       if (found := [k for k in known if k in n.read_text(encoding="utf-8")]))  # a note naming its patient
    records = tmp_path / "records"
    records.mkdir()
    shutil.copy(note, records)
    # a clinic that switched name removal off: the patient's name is stored as written
    from indexing.deid import ALL_ENTITIES

    rt = _runtime(tmp_path / "data", entities=[e for e in ALL_ENTITIES if e != "PERSON"], remove_professionals=False)
    try:
        res = _invoke(monkeypatch, rt, ["index", str(records)])
        (scan,) = _scans(rt)
    finally:
        rt.close()
    assert res.exit_code == 1, res.output
    assert scan["identifiers_found"] >= 1 and scan["found_by_type"].get("patient_name", 0) >= 1
    assert "patient_name" in res.output and "known identifiers of the synthetic clinic found" in res.output
    shown = (res.output + json.dumps(scan)).lower()
    assert not any(w.lower() in shown for name in names for w in name.split() if len(w) > 3)


def test_no_leak_scan_leaves_the_run_unscanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = tmp_path / "records"
    records.mkdir()
    shutil.copy(_sample_notes(1)[0], records)
    rt = _runtime(tmp_path / "data")
    try:
        res = _invoke(monkeypatch, rt, ["index", str(records), "--no-leak-scan"])
        assert res.exit_code == 0, res.output
        assert _scans(rt) == [] and "leak scan" not in res.output
    finally:
        rt.close()
