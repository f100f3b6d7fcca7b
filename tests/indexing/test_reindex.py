"""Incremental re-indexing: only what changed is touched, and the result equals a clean rebuild."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer, IndexReport


def _index(folder: Path, data: Path) -> tuple[IndexReport, dict[str, dict], dict[str, dict]]:
    rt = Runtime(load_settings(data_dir=data))
    try:
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([folder])
        points = {pid: payload for pid, payload in rt.index.all_payloads()}
        cases = {c.case_id: c.model_dump(mode="json") for c in rt.store.get_cases(
            list({p["case_id"] for p in points.values() if p.get("case_id")})).values()}
    finally:
        rt.close()
    return report, points, cases


def _strip_paths(payloads: dict[str, dict]) -> dict[str, dict]:
    return {k: {f: v for f, v in p.items() if f != "doc_id"} for k, p in payloads.items()}


def test_unchanged_files_are_neither_parsed_nor_embedded_again(copy_clinic: Path, tmp_path: Path) -> None:
    first, points, _ = _index(copy_clinic, tmp_path / "data")
    second, points2, _ = _index(copy_clinic, tmp_path / "data")
    assert first.added > 0 and second.added == second.changed == second.deleted == 0
    assert second.unchanged == first.added and second.chunks_written == 0
    assert points2 == points


def test_add_modify_delete_then_reindex_equals_a_clean_rebuild(copy_clinic: Path, tmp_path: Path) -> None:
    _index(copy_clinic, tmp_path / "incremental")
    notes = sorted((copy_clinic / "notes").glob("*.txt"))
    changed = notes[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nEVA 2/10 en la última revisión.\n", encoding="utf-8")
    gone = notes[1]
    gone.unlink()
    added = copy_clinic / "notes" / "nueva.txt"
    shutil.copy(notes[2], added)
    report, incremental, inc_cases = _index(copy_clinic, tmp_path / "incremental")
    assert (report.added, report.changed, report.deleted) == (1, 1, 1)
    clean_report, clean, clean_cases = _index(copy_clinic, tmp_path / "clean")
    assert clean_report.added == report.added + report.changed + report.unchanged
    assert set(incremental) == set(clean), "same point ids: nothing duplicated, missing or orphaned"
    differing = {f"{k}:{f}": (incremental[k].get(f), clean[k].get(f)) for k in clean
                 for f in set(clean[k]) | set(incremental[k]) if incremental[k].get(f) != clean[k].get(f)}
    assert differing == {}, "same payloads"
    assert inc_cases == clean_cases


def test_a_file_that_turns_corrupt_keeps_its_last_good_version(copy_clinic: Path, tmp_path: Path) -> None:
    _, before, _ = _index(copy_clinic, tmp_path / "data")
    letter = min((copy_clinic / "letters").glob("*.docx"))
    letter.write_bytes(b"PK\x03\x04 not really a zip")
    report, after, _ = _index(copy_clinic, tmp_path / "data")
    assert [Path(p).name for p, _ in report.quarantined] == [letter.name]
    assert "corrupt DOCX" in report.quarantined[0][1]
    assert after == before, "nothing already indexed is lost"
