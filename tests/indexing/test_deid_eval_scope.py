"""What the de-identification evaluation counts: descriptors mislabelled as identifiers, bare years and weekdays are
kept by policy and must not count as misses; per-entity recall groups the gold types (hand-worked figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.deid_eval import evaluate_meddocan, evaluate_presidio_synth
from indexing.deid import DeidResult, PhiSpan


class FixedDeid:
    """A stand-in whose predictions are fixed per text, so the figures can be worked by hand."""

    entities = frozenset({"PERSON", "ID", "DATE", "LOCATION", "ADDRESS", "POSTAL_CODE"})

    def __init__(self, predictions: dict[str, list[PhiSpan]]) -> None:
        self.predictions = predictions

    def deidentify(self, text: str, **_: object) -> DeidResult:
        return DeidResult(text, self.predictions.get(text, []))

    def deidentify_many(self, texts: list[str], **_: object) -> list[DeidResult]:
        return [self.deidentify(t) for t in texts]


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
