"""The runtime's retriever codes queries with the coder learned into the data folder (`casewise learn --codes`), so
the concept channel sees predicted codes; without a learned coder nothing changes. Real store, index and embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casewise.settings import Settings
from tests.codiesp_folder import write_codiesp

NOTE = "Consulta\n\nPaciente de 70 años con dolor de rodilla derecha de meses de evolución."
NOTES = {f"nota_{n}.txt": f"NHC: {n}\n{NOTE}" for n in ("2000001", "2000002")}
TABLE = "NHC;Sexo;Fecha;Diagnóstico;CIE-10;Lado\n2000002;Mujer;03/04/2021;Registro;M17.11;Dcha.\n" \
        "2000001;Mujer;03/04/2021;Registro;E11.9;\n"
QUERY = "Mujer con gonartrosis de rodilla derecha"
# Invented coded notes in CodiEsp's format: 'gonartrosis' written for m17.11 in every one, so the learned coder codes it.
CODED = {f"caso-{i}": f"Mujer de {60 + i} años con gonartrosis de rodilla derecha. Se indica fisioterapia."
         for i in range(8)}


def _coded_folder(root: Path) -> Path:
    return write_codiesp(root / "coded", CODED, [(nid, "DIAGNOSTICO", "m17.11", "gonartrosis") for nid in CODED])


def _settings(data_dir: Path) -> Settings:
    from casewise.settings import load_settings

    s = load_settings(data_dir=data_dir)
    cfg = s.retrieval.model_copy(update={"concept_weight": {"es": 1.0, "en": 1.0}})
    return s.model_copy(update={"retrieval": cfg})


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from app.runtime import Runtime
    from indexing.pipeline import Indexer

    root = tmp_path_factory.mktemp("runtime_coder")
    records = root / "records"
    records.mkdir()
    for name, text in NOTES.items():
        (records / name).write_text(text, encoding="utf-8")
    (records / "visitas.csv").write_text(TABLE, encoding="utf-8")
    rt = Runtime(_settings(root / "data"))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])
    rt.close()
    yield root


def _codes_in_why(data_dir: Path) -> tuple[list[str], str]:
    from app.runtime import Runtime

    rt = Runtime(_settings(data_dir))
    try:
        results = rt.retriever.similar(QUERY, k=2)
        return [w for r in results for w in r.why if w.startswith("codes: ")], results[0].case_id
    finally:
        rt.close()


def test_without_a_learned_coder_the_query_has_no_codes(clinic: Path) -> None:
    from app.runtime import Runtime

    rt = Runtime(_settings(clinic / "data"))
    try:
        assert rt.retriever.coder is None
    finally:
        rt.close()
    codes, _ = _codes_in_why(clinic / "data")
    assert codes == [], "no coder: nothing to share, so no case names a code"


def test_the_runtime_retriever_codes_queries_with_the_learned_coder(clinic: Path) -> None:
    from app.runtime import Runtime
    from indexing.coding.learn import learn_codes

    data_dir = clinic / "data"
    report = learn_codes([_coded_folder(clinic)], data_dir=data_dir, languages=("es",))
    assert report.path is not None and report.path.is_file()
    rt = Runtime(_settings(data_dir))
    try:
        assert any(c.code.startswith("m17") for c in rt.retriever.coder.code(QUERY)), "the learned coder codes it"
        knee_case = rt.deid.pseudonym("2000002")
    finally:
        rt.close()
    codes, first = _codes_in_why(data_dir)
    assert codes and all("M17.11" in w for w in codes), "the knee case's recorded code is named as shared"
    assert first == knee_case, "equal text: the predicted category decides the order"
