"""`casewise eval run` end to end on the indexed 30-patient synthetic clinic (no judge: non-LLM Ragas metrics,
labelled so), and question files a clinic writes itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from eval.questions import QuestionSetError, load_questions, normalize_record

QUESTIONS = 4  # of the clinic's 12 ground-truth questions: enough for every section, quick on 2 cores


@pytest.fixture(scope="module")
def eval_cli(indexed, monkeypatch_module):  # type: ignore[no-untyped-def]
    """The `eval` command group with `run` registered, using the session's indexed runtime."""
    import cli.common
    from cli.eval import register_run

    rt, _ = indexed
    monkeypatch_module.setattr(cli.common, "runtime", lambda data_dir=None: rt)
    group = typer.Typer()
    register_run(group)

    @group.callback()
    def _root() -> None:  # a group, so `run` is addressed by name as in `casewise eval run`
        pass

    return group


@pytest.fixture(scope="module")
def monkeypatch_module():  # type: ignore[no-untyped-def]
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_eval_run_writes_a_labelled_report_on_the_indexed_clinic(eval_cli, clinic_dir: Path,
                                                                 tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reports = tmp_path / "reports"
    res = CliRunner().invoke(eval_cli, ["run", "--questions", str(clinic_dir / "ground_truth.json"), "--report",
                                        str(reports), "--limit", str(QUESTIONS), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    [run_dir] = list(reports.iterdir())
    assert {p.name for p in run_dir.iterdir()} == {"report.json", "report.html", "summary.md"}
    assert json.loads((run_dir / "report.json").read_text())["run_id"] == report["run_id"] == run_dir.name

    sections = {s["key"]: s for s in report["sections"]}
    assert list(sections) == ["retrieval", "answers", "latency", "leak"]
    retrieval = sections["retrieval"]["metrics"]
    # The synthetic clinic's designed matches are found: most expected cases are in the first 10.
    assert retrieval["recall@10"] > 0.5 and retrieval["ndcg@10"] > 0.5 and retrieval["mrr"] > 0.5
    answers = sections["answers"]
    assert "No judge is configured" in answers["note"]  # the report says which Ragas metrics it could compute
    assert "faithfulness" not in answers["metrics"]
    assert set(answers["metrics"]) >= {"id_context_precision", "id_context_recall", "citation_validity",
                                       "abstention_rate"}
    assert answers["metrics"]["citation_validity"] == 1.0  # every cited case was in the evidence (similar or cohort)
    assert any(h["label"] == "Faithfulness" and h["value"] == "needs a judge" for h in report["highlights"])
    leak = sections["leak"]
    assert leak["status"] == "ok" and leak["metrics"]["identifiers_found"] == 0
    assert leak["metrics"]["identifiers_checked"] > 100  # names, record numbers, phones, dates ... of 30 patients
    assert sections["latency"]["metrics"]["answer_p50_ms"] > 0
    per_question = sections["retrieval"]["tables"][0]["rows"]
    assert len(per_question) == QUESTIONS

    # Nothing identifying in any file of the run: no known identifier of any patient appears.
    text = "".join(p.read_text(encoding="utf-8") for p in run_dir.iterdir()).casefold()
    for patient in ground_truth_of(clinic_dir).patients:
        for item in patient.phi:
            if len(item.text) >= 6:
                assert item.text.casefold() not in text, item.kind
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3 and "<script" not in html


def ground_truth_of(clinic_dir: Path):  # type: ignore[no-untyped-def]
    from synth import load_ground_truth

    return load_ground_truth(clinic_dir)


def test_a_clinics_csv_and_jsonl_questions_are_read_with_record_numbers_pseudonymised(tmp_path: Path) -> None:
    def fake_pseudonym(ref: str) -> str:
        return f"PT-{ref}"

    csv_file = tmp_path / "q.csv"
    csv_file.write_text("id;question;language;expected_records;expected_better\n"
                        "k1;Mujer de 60 años con gonartrosis;es;0012345 | 678;prp;bmac\n"
                        ";Knee pain after a fall;;;\n", encoding="utf-8")
    qs = load_questions(csv_file, fake_pseudonym)
    assert [q.question_id for q in qs.questions] == ["k1", "q2"]
    assert qs.questions[0].expected_cases == ["PT-12345", "PT-678"]  # leading zeros dropped, as the indexer does
    assert qs.questions[0].expected_better == ["prp"] and qs.questions[0].expected_worse == []
    assert qs.questions[0].reference() == "Treatments that worked better for similar patients: prp."
    assert qs.ground_truth is None

    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"question": "Hombro doloroso", "expected_cases": ["PT-AB"], "expected_answer": "PRP"}\n\n',
                     encoding="utf-8")
    [q] = load_questions(jsonl, fake_pseudonym).questions
    assert q.expected_cases == ["PT-AB"] and q.reference() == "PRP"
    assert normalize_record(" 000 ") == "0"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.csv", "pregunta\nhola\n", "a.csv: line 1: no 'question' column"),
    ("b.csv", "question,language\nhola,fr\n", "b.csv: line 2: field language: must be es or en"),
    ("c.jsonl", '{"question": "x"}\n{"question": ""}\n', "c.jsonl: line 2: field question: is empty"),
    ("d.jsonl", '{"question": "x", "expected": 1}\n', "d.jsonl: line 1: unknown field(s) ['expected']"),
    ("e.jsonl", "{not json\n", "e.jsonl: line 1: not valid JSON"),
    ("f.txt", "question\n", "f.txt: unsupported question file type .txt"),
    ("g.json", '{"questions": []}', "g.json: not a synthetic-clinic ground_truth.json"),
])
def test_bad_question_files_name_the_file_line_and_field(tmp_path: Path, name: str, content: str,
                                                         message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionSetError) as exc:
        load_questions(path, lambda r: r)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_residual_detector_hits_ignore_what_deidentification_leaves_on_purpose() -> None:
    from eval.leaks import residual_hits
    from indexing.deid import PhiSpan

    text = "Paciente [NOMBRE_AB12] visto el 03/04/2024 por PT-3F9A0C12DE. [DIRECCION] Control con Ana Gil."
    spans = [PhiSpan("PERSON", text.index("[NOMBRE"), text.index("]") + 1),      # its own placeholder
             PhiSpan("DATE", text.index("03/"), text.index("03/") + 10),           # a shifted date
             PhiSpan("ID", text.index("PT-"), text.index("PT-") + 13),             # a case pseudonym
             PhiSpan("ADDRESS", text.index("DIRECCION"), text.index(" Control")),  # label-like placeholder tail
             PhiSpan("PERSON", text.index("Ana"), text.index("Ana") + 7)]          # a real residual name
    assert residual_hits(text, spans, dates_kept_shifted=True) == {"PERSON"}
    assert residual_hits(text, spans, dates_kept_shifted=False) == {"PERSON", "DATE"}


def test_casewise_eval_run_reports_a_missing_question_file_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "CASEWISE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    res = subprocess.run([sys.executable, "-m", "cli.main", "eval", "run", "--questions",
                          str(tmp_path / "missing.csv")], check=False, capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 2
    expected = f"error: {tmp_path / 'missing.csv'}: question file not found (give a ground_truth.json, .csv or .jsonl file)"
    assert res.stderr.strip().splitlines() == [expected]


def test_expected_cases_missing_from_the_index_are_named_not_counted_as_misses(indexed) -> None:  # type: ignore[no-untyped-def]
    from eval.questions import load_questions
    from eval.run import run_eval

    rt, _ = indexed
    # The bundled 200-patient sample's questions against the 30-patient index: most expected patients are not in it.
    qset = load_questions(None, rt.deid.pseudonym)
    qset.questions = qset.questions[:2]
    report = run_eval(rt, qset)
    [note] = report.notes
    assert "cases this question set expects are not in this index" in note
    retrieval = report.section("retrieval")
    assert retrieval is not None and retrieval.metrics["recall@10"] > 0.5  # over the expected cases that exist
    leak = report.section("leak")
    assert leak is not None and 0 < (leak.metrics["identifiers_checked"] or 0) < 1000  # the indexed patients' only
