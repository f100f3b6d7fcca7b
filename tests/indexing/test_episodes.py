"""Every note becomes a case: notes that link to no record number, in general clinical language (MTSamples).

The expected values below were read by hand from the ten reports in tests/data/mtsamples_ortho (see LICENSE.md
there), not from Casewise's output.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "mtsamples_ortho"

# sample_id: (age, sex, side of the operated/complained-of part, a procedure id, a diagnosis id) as the note states
# them; None where the note does not state it (operative reports often state neither age nor sex).
TRUTH: dict[str, tuple[int | None, str | None, str | None, str | None, str | None]] = {
    "670": (None, None, "right", "total_knee_arthroplasty", "knee_oa"),  # 'Right total knee arthroplasty'
    "1274": (66, "F", None, "total_knee_arthroplasty", "knee_oa"),  # '66-year-old female with knee osteoarthrosis'
    "2761": (None, "F", "right", "total_knee_arthroplasty", None),  # 'she'; 'status post total knee arthroplasty'
    "2531": (58, "F", "right", "total_knee_arthroplasty", "knee_oa"),  # 'Right knee total arthroplasty'
    "208": (None, None, "bilateral", None, "knee_oa"),  # 'osteoarthritis Grade IV of the bilateral knees'
    "138": (62, "F", "left", "carpal_tunnel_release", "carpal_tunnel_syndrome"),  # '62-year-old lady'
    "139": (69, "F", "right", "carpal_tunnel_release", "carpal_tunnel_syndrome"),  # '69-year-old female'
    "1015": (None, None, "bilateral", "carpal_tunnel_release", "carpal_tunnel_syndrome"),
    "1721": (None, None, None, "carpal_tunnel_release", "carpal_tunnel_syndrome"),  # no side in the headings
    "141": (50, "M", "bilateral", "carpal_tunnel_release", "carpal_tunnel_syndrome"),  # '50-year-old male'
}


@pytest.fixture(scope="module")
def mtsamples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object, Path]]:
    """The ten reports indexed by the real indexer (parse, de-identify, extract, code, assemble, embed)."""
    from app.runtime import Runtime
    from casewise.settings import load_settings

    notes = tmp_path_factory.mktemp("notes")
    for p in DATA.glob("*.txt"):
        shutil.copy(p, notes / p.name)
    rt = Runtime(load_settings(data_dir=tmp_path_factory.mktemp("data")))
    report = rt.indexer.run([notes])
    yield rt, report, notes
    rt.close()


def _case_of(rt, notes: Path, sid: str):  # type: ignore[no-untyped-def]
    row = rt.store.document_by_path(str((notes / f"mtsamples_{sid}.txt").resolve()))
    assert row is not None and row.case_id, f"note {sid} is not linked to a case"
    case = rt.store.get_case(row.case_id)
    assert case is not None, f"note {sid}: no case {row.case_id}"
    return case


def test_every_note_without_a_record_number_is_a_case_of_its_own(mtsamples) -> None:  # type: ignore[no-untyped-def]
    rt, report, notes = mtsamples
    assert report.quarantined == []
    assert rt.store.count_cases() == len(TRUTH)
    ids = {_case_of(rt, notes, sid).case_id for sid in TRUTH}
    assert len(ids) == len(TRUTH), "one case per note"
    for cid in ids:  # a keyed pseudonym, nothing of the path or the note in it
        assert cid.startswith("PT-") and len(cid) == 13
        assert rt.store.get_case(cid).doc_ids and len(rt.store.get_case(cid).doc_ids) == 1


def test_age_and_sex_where_stated_and_absent_where_not(mtsamples) -> None:  # type: ignore[no-untyped-def]
    from casewise.types import age_band

    rt, _, notes = mtsamples
    for sid, (age, sex, *_rest) in TRUTH.items():
        case = _case_of(rt, notes, sid)
        assert case.age_band == age_band(age), (sid, case.age_band)
        assert case.sex == sex, (sid, case.sex)


def test_side_diagnosis_and_procedure_found(mtsamples) -> None:  # type: ignore[no-untyped-def]
    rt, _, notes = mtsamples
    for sid, (_age, _sex, side, procedure, diagnosis) in TRUTH.items():
        case = _case_of(rt, notes, sid)
        names = {t.name for t in case.treatments}
        if procedure:
            assert procedure in names, (sid, names)
        if diagnosis:
            assert diagnosis in {d.name for d in case.diagnoses}, (sid, [d.name for d in case.diagnoses])
        if side:
            sides = {d.side for d in case.diagnoses} | {t.side for t in case.treatments}
            assert side in sides, (sid, sides)
        assert "_" not in case.summary, f"the summary shows labels, not ids: {case.summary}"


@pytest.mark.parametrize(("question", "expect"), [
    ("What worked for patients with knee osteoarthritis?", "knee"),
    ("Complications after total knee arthroplasty?", "knee"),
    ("Outcomes of carpal tunnel release?", "carpal tunnel"),  # a condition of the general terms extraction read
])
def test_ask_answers_from_cases_with_their_diagnoses_and_procedures(mtsamples, question: str, expect: str
                                                                    ) -> None:  # type: ignore[no-untyped-def]
    from app import clinical

    rt, _, _ = mtsamples
    answer = clinical.ask(rt, question, language="en")
    assert not answer.abstained, answer.text
    assert "too few similar cases" not in answer.text
    cited = [c.case_id for c in answer.citations]
    assert cited and all(c.startswith("PT-") for c in cited), answer.text
    cases = rt.store.get_cases(cited)
    # The cases cited are about what was asked: their diagnoses or procedures name it.
    about = [c for c in cases.values() if expect in c.summary.lower()]
    assert len(about) >= 3, [c.summary for c in cases.values()]
    assert any(row.treatment.endswith(("arthroplasty", "release")) for row in answer.evidence.table), answer.text


def test_a_one_note_folder_with_a_short_record_number_is_one_case(tmp_path: Path) -> None:
    """'NHC: 4455' is shorter than a record number (ingest.patient_id_pattern): the note is still a case, under a
    pseudonym of the document, the same on every run."""
    from app.runtime import Runtime
    from casewise.settings import load_settings

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("NHC: 4455\nPaciente con gonartrosis de rodilla izquierda. Infiltración PRP. "
                                 "EVA basal 7, a los 6 meses 3.\n", encoding="utf-8")
    rt = Runtime(load_settings(data_dir=tmp_path / "data"))
    try:
        report = rt.indexer.run([notes])
        assert report.cases == 1 and rt.store.count_cases() == 1
        row = rt.store.document_by_path(str((notes / "a.txt").resolve()))
        case = rt.store.get_case(row.case_id)
        assert case is not None and "4455" not in case.case_id
        assert [d.name for d in case.diagnoses] == ["knee_oa"] and case.diagnoses[0].side == "left"
        assert [t.name for t in case.treatments] == ["prp"]
        first = case.case_id
        rt.indexer.run([notes], force=True)
        assert rt.store.count_cases() == 1 and rt.store.get_case(first) is not None, "stable across runs"
    finally:
        rt.close()
