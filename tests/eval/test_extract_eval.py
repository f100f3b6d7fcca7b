"""Extraction quality measured the way `casewise eval extract` measures it: per-field precision/recall on a slice of
the generated clinic (de-identified text, rules only), and CodiEsp-style span recall on a tiny hand-made set."""

from __future__ import annotations

from pathlib import Path

import pytest

from casewise.settings import load_settings
from eval.extract_eval import evaluate_codiesp, evaluate_synth, main
from indexing.extraction.rules import RulesExtractor

SLICE = 20
# Floors a little under what the rules measured on this slice (2026-11-29, de-identified text: diagnosis P 1.00
# R 1.00, treatment P 0.96 R 1.00, dose 1.00/1.00, sessions 1.00/1.00, outcome value P 1.00 R 0.93, with its
# treatment P 0.97 R 0.93): a regression trips them.
FLOORS = {"diagnosis": (0.95, 0.95), "treatment": (0.9, 0.95), "treatment.dose": (0.95, 0.95),
          "treatment.sessions": (0.95, 0.95), "outcome.value": (0.95, 0.9), "outcome.value+treatment": (0.92, 0.9)}


@pytest.fixture(scope="module")
def report(clinic_dir: Path):  # type: ignore[no-untyped-def]
    from indexing.deid import Deidentifier

    deid = Deidentifier(load_settings(data_dir=clinic_dir / ".unused").deid)
    return evaluate_synth(clinic_dir, RulesExtractor(), deid=deid, limit=SLICE)


def test_rules_reach_the_measured_floors_on_the_synthetic_clinic(report) -> None:  # type: ignore[no-untyped-def]
    assert report.patients == SLICE and report.deidentified
    for name, (p_floor, r_floor) in FLOORS.items():
        pr = report.fields[name]
        assert pr.precision is not None and pr.precision >= p_floor, (name, pr.to_dict())
        assert pr.recall is not None and pr.recall >= r_floor, (name, pr.to_dict())
    # Scores only the tables hold are missed by text extraction: recall against every score is lower.
    assert report.fields["outcome.value (all gold)"].recall < report.fields["outcome.value"].recall
    assert "treatment.date" not in report.fields  # de-identification shifts dates: not scored


def _codiesp(tmp_path: Path) -> Path:
    folder = tmp_path / "train"
    (folder / "text_files").mkdir(parents=True)
    texts = {
        "caso-1": "Mujer con gonartrosis derecha. Se realizó infiltración con plasma rico en plaquetas. Neumonía previa.",
        "caso-2": "Varón con epicondilitis lateral tratada con ondas de choque.",
    }
    rows = []
    for doc, text in texts.items():
        (folder / "text_files" / f"{doc}.txt").write_text(text, encoding="utf-8")
    for doc, kind, span in (("caso-1", "DIAGNOSTICO", "gonartrosis"), ("caso-1", "PROCEDIMIENTO", "plasma rico en plaquetas"),
                            ("caso-1", "DIAGNOSTICO", "Neumonía"), ("caso-2", "DIAGNOSTICO", "epicondilitis lateral"),
                            ("caso-2", "PROCEDIMIENTO", "ondas de choque")):
        start = texts[doc].index(span)
        rows.append(f"{doc}\t{kind}\tx00\t{span}\t{start} {start + len(span)}")
    (folder / "trainX.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_codiesp_span_recall_counts_overlapping_mentions_by_kind(tmp_path: Path) -> None:
    [rep] = evaluate_codiesp(_codiesp(tmp_path))
    d, p = rep.spans["diagnosis"], rep.spans["procedure"]
    assert (d.gold, d.found) == (3, 2)  # 'Neumonía' is outside the regenerative-medicine lexicon
    assert (p.gold, p.found) == (2, 2) and p.precision == 1.0


def test_eval_command_prints_a_table_and_refuses_a_wrong_folder(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--codiesp", str(_codiesp(tmp_path)), "--spans"]) == 0
    assert "diagnosis" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--codiesp", str(tmp_path / "nowhere")])
    assert "expected a CodiEsp split folder" in capsys.readouterr().err
