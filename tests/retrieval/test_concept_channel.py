"""The concept channel: a case sharing the query's ICD-10 category ranks above one that doesn't when the text is
equally similar, and 'why' names the shared code; real index, embedder and store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from casewise.types import Code
from retrieval.search import CaseRetriever

NOTE = "Consulta\n\nPaciente de 70 años con dolor de rodilla derecha de meses de evolución."
NOTES = {f"nota_{n}.txt": f"NHC: {n}\n{NOTE}" for n in ("2000001", "2000002")}
TABLE = "NHC;Sexo;Fecha;Diagnóstico;CIE-10;Lado\n2000002;Mujer;03/04/2021;Registro;M17.11;Dcha.\n" \
        "2000001;Mujer;03/04/2021;Registro;E11.9;\n"
QUERY = "dolor de rodilla derecha"


def _codes(code: str) -> list[Code]:
    return [Code(system="ICD-10-CM", kind="diagnosis", code=code, confidence=0.9)]


KNEE_OA = _codes("m17.1")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    root = tmp_path_factory.mktemp("concept_clinic")
    records = root / "records"
    records.mkdir()
    for name, text in NOTES.items():
        (records / name).write_text(text, encoding="utf-8")
    (records / "visitas.csv").write_text(TABLE, encoding="utf-8")
    rt = Runtime(load_settings(data_dir=root / "data"))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([records])
    yield rt
    rt.close()


def _retriever(rt, weight: float) -> CaseRetriever:  # type: ignore[no-untyped-def]
    cfg = rt.settings.retrieval.model_copy(update={"concept_weight": {"es": weight, "en": weight}})
    return CaseRetriever(rt.settings.model_copy(update={"retrieval": cfg}), rt.store, rt.index, rt.embedder)


@pytest.mark.parametrize(("query_code", "nhc", "shared"), [("m17.1", "2000002", "M17.11"), ("e11.65", "2000001", "E11.9")])
def test_the_case_sharing_the_query_category_ranks_first_and_says_which_code(clinic, query_code: str, nhc: str,
                                                                             shared: str) -> None:
    rt = clinic
    results = _retriever(rt, 1.0).similar(QUERY, k=2, query_codes=_codes(query_code))
    assert results[0].case_id == rt.deid.pseudonym(nhc), "same text: the shared category decides"
    assert any(w.startswith("codes: ") and shared in w for w in results[0].why)
    assert not any(w.startswith("codes: ") for w in results[1].why), "the other case shares no category"


def test_without_query_codes_the_channel_changes_nothing(clinic) -> None:
    rt = clinic
    with_weight = _retriever(rt, 1.0).similar(QUERY, k=2)
    without = _retriever(rt, 0.0).similar(QUERY, k=2, query_codes=KNEE_OA)
    assert [r.case_id for r in with_weight] == [r.case_id for r in without]
