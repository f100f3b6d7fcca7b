"""Indexing codes every note: predicted ICD-10 codes with their span and confidence on the case, the clinic's recorded
codes kept as recorded, the codes (and their categories) on every chunk for filters; the data folder's learned coder
first, else the bundled one, or none with extract.icd10 off."""

from __future__ import annotations

from pathlib import Path

import pytest

from casewise.types import Case
from indexing.coding.coder import load_coder
from indexing.coding.learn import learn_codes
from indexing.coding.model import BUNDLED

FIXTURE = Path(__file__).parent / "fixtures" / "codiesp_mini"
NOTE = ("Informe de consulta. NHC: 4455667\nMujer de 70 años con hipertensión arterial. Sin neumonía.\n"
        "Se solicita radiografía de tórax.\n")
TABLE = "NHC;Sexo;Fecha;Diagnóstico;CIE-10;Lado\n4455667;Mujer;03/04/2021;Gonartrosis;M17.11;Dcha.\n"


def _index(records: Path, data: Path, **settings: object) -> tuple[Case, list[dict[str, object]]]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    rt = Runtime(load_settings(data_dir=data, **settings))
    try:
        Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])
        ids = list(rt.store.case_fingerprints())
        assert len(ids) == 1, "the note and the table row are one patient"
        case = rt.store.get_case(ids[0])
        assert case is not None
        return case, [p for _, p in rt.index.all_payloads()]
    finally:
        rt.close()


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "nota.txt").write_text(NOTE, encoding="utf-8")
    (folder / "visitas.csv").write_text(TABLE, encoding="utf-8")
    return folder


def test_a_case_carries_predicted_codes_with_span_and_confidence_and_the_recorded_ones(records: Path,
                                                                                       tmp_path: Path) -> None:
    data = tmp_path / "data"
    learn_codes([FIXTURE], data_dir=data, languages=("es",))
    case, payloads = _index(records, data)
    codes = {c.code: c for c in case.codes}
    htn = codes["i10"]
    assert htn.source == "predicted" and htn.kind == "diagnosis" and 0 < htn.confidence <= 1
    assert htn.text == "hipertensión arterial" and htn.start is not None and htn.end == htn.start + len(htn.text)
    assert codes["bw03zzz"].kind == "procedure" and codes["bw03zzz"].source == "predicted"
    assert "j18.9" not in codes, "a negated mention is not coded"
    knee = codes["m17.11"]
    assert knee.source == "recorded" and knee.confidence == 1.0 and knee.side == "right"
    assert "gonartrosis" in knee.label.lower()  # CIE-10, in the clinic's default language (Spanish)
    assert case.codes[0].source == "recorded", "recorded codes come first"
    for p in payloads:  # every chunk of the case, the summary included, can be filtered by code or category
        assert {"i10", "m17", "m17.1", "m17.11", "bw03zzz"} <= set(p["codes"])  # type: ignore[call-overload]


def test_without_a_learned_coder_the_bundled_one_codes_the_notes(records: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    coder = load_coder(data)
    assert coder is not None and coder.model.meta["notes"] == 500, "the bundled coder, learned from CodiEsp train"
    case, _ = _index(records, data)
    predicted = {c.code for c in case.codes if c.source == "predicted"}
    assert "i10" in predicted


def test_a_learned_coder_in_the_data_folder_is_used_before_the_bundled_one(tmp_path: Path) -> None:
    assert BUNDLED.is_file()
    learn_codes([FIXTURE], data_dir=tmp_path, languages=("es",))
    coder = load_coder(tmp_path)
    assert coder is not None and coder.model.meta["notes"] == 8


def test_coding_can_be_turned_off(records: Path, tmp_path: Path) -> None:
    case, _ = _index(records, tmp_path / "data", extract={"icd10": False})
    assert [c.source for c in case.codes] == ["recorded"], "the clinic's own codes stay; nothing is predicted"
