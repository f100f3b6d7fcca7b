"""The de-identification evaluation gives hand-checkable figures on a tiny brat folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.deid_eval import evaluate_meddocan, evaluate_presidio_synth, main
from indexing.deid import DeidResult, PhiSpan


class FixedDeid:
    """A stand-in Deidentifier whose predictions are fixed per text, so the figures can be worked by hand."""

    entities = frozenset({"PERSON", "ID", "DATE", "LOCATION", "ADDRESS", "EMAIL", "PHONE", "POSTAL_CODE"})

    def __init__(self, predictions: dict[str, list[PhiSpan]]) -> None:
        self.predictions = predictions

    def deidentify(self, text: str, **_: object) -> DeidResult:
        return DeidResult(text, self.predictions.get(text, []))

    def deidentify_many(self, texts: list[str], **_: object) -> list[DeidResult]:
        return [self.deidentify(t) for t in texts]


DOC1 = "Nombre: Ana Gil. NHC: 12345. Sexo: M."
#       0         1         2         3
#       0123456789012345678901234567890123456
DOC2 = "Vive en Madrid con su madre."


@pytest.fixture
def brat(tmp_path: Path) -> Path:
    (tmp_path / "d1.txt").write_text(DOC1, encoding="utf-8")
    (tmp_path / "d1.ann").write_text(
        "T1\tNOMBRE_SUJETO_ASISTENCIA 8 15\tAna Gil\nT2\tID_SUJETO_ASISTENCIA 22 27\t12345\n"
        "T3\tSEXO_SUJETO_ASISTENCIA 35 36\tM\n", encoding="utf-8")
    (tmp_path / "d2.txt").write_text(DOC2, encoding="utf-8")
    (tmp_path / "d2.ann").write_text(
        "T1\tTERRITORIO 8 14\tMadrid\nT2\tFAMILIARES_SUJETO_ASISTENCIA 22 27\tmadre\n", encoding="utf-8")
    return tmp_path


def test_meddocan_figures_match_hand_worked_values(brat: Path) -> None:
    deid = FixedDeid({
        DOC1: [PhiSpan("PERSON", 8, 11), PhiSpan("ID", 22, 27), PhiSpan("PERSON", 0, 6)],  # "Ana" only; a false "Nombre"
        DOC2: [PhiSpan("LOCATION", 8, 14), PhiSpan("PERSON", 22, 27)],  # "madre" is kinship: out of scope
    })
    r = evaluate_meddocan(brat, deid)  # type: ignore[arg-type]
    # In-scope gold: "Ana Gil" (2 tokens), "12345" (1), "Madrid" (1) = 4 tokens, 3 spans. Sexo and "madre" are kept by policy.
    assert (r.token.gold, r.token.tp) == (4, 3) and r.token.recall == pytest.approx(3 / 4)
    # Predicted tokens outside out-of-scope gold: Ana, 12345, Nombre, Madrid = 4, of which 3 are PHI.
    assert (r.token.pred, r.token.pred_tp) == (4, 3) and r.token.precision == pytest.approx(3 / 4)
    assert r.span_exact.recall == pytest.approx(2 / 3) and r.span_overlap.recall == pytest.approx(1.0)
    assert r.span_exact.precision == pytest.approx(2 / 4) and r.span_overlap.precision == pytest.approx(3 / 4)
    # Leak: gold chars (no spaces) Ana Gil=6, 12345=5, Madrid=6 -> 17; "Gil" (3) survives.
    assert (r.leaked_chars, r.gold_chars) == (3, 17) and r.leak_rate == pytest.approx(3 / 17)
    assert r.per_type["NOMBRE_SUJETO_ASISTENCIA"]["token_recall"] == pytest.approx(0.5)
    assert r.per_type["SEXO_SUJETO_ASISTENCIA"]["in_scope"] is False
    assert r.documents == 2


def test_presidio_synth_recall_per_type(tmp_path: Path) -> None:
    text = "Call John Doe at 555-123-4567."
    rec = {"full_text": text, "spans": [
        {"entity_type": "PERSON", "entity_value": "John Doe", "start_position": 5, "end_position": 13},
        {"entity_type": "PHONE_NUMBER", "entity_value": "555-123-4567", "start_position": 17, "end_position": 29}]}
    f = tmp_path / "synth.json"
    f.write_text(json.dumps([rec]), encoding="utf-8")
    r = evaluate_presidio_synth(f, FixedDeid({text: [PhiSpan("PHONE", 17, 29)]}))  # type: ignore[arg-type]
    assert r.per_type["PHONE_NUMBER"]["token_recall"] == 1.0 and r.per_type["PERSON"]["token_recall"] == 0.0
    assert r.token.recall == pytest.approx(3 / 5)  # tokens: John, Doe, 555, 123, 4567
    assert r.direct_identifier_recall == pytest.approx(3 / 5)  # the person and the phone together
    assert "postal code, phone, e-mail and id together: 0.600" in r.table()


def test_main_prints_json(brat: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deid = FixedDeid({DOC1: [PhiSpan("PERSON", 8, 15)]})
    assert main(["--meddocan", str(brat), "--json"], deid=deid) == 0  # type: ignore[arg-type]
    out = json.loads(capsys.readouterr().out)
    assert out[0]["documents"] == 2 and out[0]["token"]["gold"] == 4


# What the evaluation counts as in scope: descriptors mislabelled as identifiers, bare years and weekdays are kept by
# policy and must not count as misses; per-entity recall groups the gold types.
DOC = "Nombre: Ana Gil. NHC: 12345. Mujer blanca. En 2019 y el 3/4/2020."
#      0         1         2         3         4         5         6
#      0123456789012345678901234567890123456789012345678901234567890123456


def test_digitless_identifier_spans_and_bare_years_are_out_of_scope(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text(DOC, encoding="utf-8")
    (tmp_path / "d.ann").write_text(
        "T1\tNOMBRE_SUJETO_ASISTENCIA 8 15\tAna Gil\nT2\tID_SUJETO_ASISTENCIA 22 27\t12345\n"
        "T3\tID_SUJETO_ASISTENCIA 35 41\tblanca\nT4\tFECHAS 46 50\t2019\nT5\tFECHAS 56 64\t3/4/2020\n",
        encoding="utf-8")
    deid = FixedDeid({DOC: [PhiSpan("PERSON", 8, 11), PhiSpan("ID", 22, 27), PhiSpan("DATE", 56, 64)]})
    r = evaluate_meddocan(tmp_path, deid)  # type: ignore[arg-type]
    # in scope: Ana, Gil, 12345, 3, 4, 2020 = 6 tokens; "blanca" and "2019" are kept by policy
    assert (r.token.gold, r.token.tp) == (6, 5)
    assert r.per_entity["ID"] == {"tokens": 1, "token_recall": 1.0}
    assert r.per_entity["PERSON"] == {"tokens": 2, "token_recall": 0.5}
    row = r.per_type["ID_SUJETO_ASISTENCIA"]
    assert row["in_scope_token_recall"] == 1.0 and row["token_recall"] == pytest.approx(0.5)


def test_presidio_weekday_is_out_of_scope_but_a_full_date_is_not(tmp_path: Path) -> None:
    text = "Seen Monday, 2021-03-04."
    rec = {"full_text": text, "spans": [
        {"entity_type": "DATE_TIME", "entity_value": "Monday", "start_position": 5, "end_position": 11},
        {"entity_type": "DATE_TIME", "entity_value": "2021-03-04", "start_position": 13, "end_position": 23}]}
    f = tmp_path / "synth.json"
    f.write_text(json.dumps([rec]), encoding="utf-8")
    r = evaluate_presidio_synth(f, FixedDeid({text: []}))  # type: ignore[arg-type]
    assert r.token.gold == 3 and r.per_entity["DATE"]["token_recall"] == 0.0
