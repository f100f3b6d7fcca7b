"""An index built with another embedding model (an upgrade changed the default): queries say to rebuild, and the next
`casewise index` rebuilds it by itself, keeping every case (real embedders, real embedded index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import clinical as service
from casewise.embedding import MINILM, MINILM_E5
from casewise.errors import IndexUnavailableError

NOTES = {
    "nota_1.txt": "NHC: 2000001\nPrimera visita\n\nMujer de 61 años con gonartrosis grado 2 en rodilla derecha, EVA 7. "
                  "Se pauta plasma rico en plaquetas, 3 infiltraciones.",
    "nota_2.txt": "NHC: 2000002\nPrimera visita\n\nVarón de 58 años con epicondilitis lateral, EVA 6. "
                  "Se pauta fisioterapia, 10 sesiones.",
    "note_3.txt": "MRN: 2000003\nFirst visit\n\n70-year-old woman with right knee osteoarthritis, VAS 8. "
                  "Hyaluronic acid, one injection.",
}


def _runtime(data: Path, model: str):  # type: ignore[no-untyped-def]
    from app.runtime import Runtime
    from casewise.settings import load_settings

    return Runtime(load_settings(data_dir=data, embedding={"model": model}))


def test_a_new_embedding_model_rebuilds_the_index_and_keeps_every_case(tmp_path: Path) -> None:
    from indexing.pipeline import Indexer

    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    old = _runtime(data, MINILM)
    Indexer(old.settings, old.store, old.index, old.embedder, old.deid).run([notes])
    chunks_before, cases_before = old.index.count(), set(old.store.case_fingerprints())
    assert old.embedder.dim == 384 and len(cases_before) == 3
    old.close()

    rt = _runtime(data, MINILM_E5)
    try:
        assert rt.embedder.dim == 768
        with pytest.raises(IndexUnavailableError, match="another embedding model.*--rebuild"):
            service.similar(rt, "gonartrosis de rodilla", k=3, actor="test")
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([notes])
        assert not report.quarantined
        assert rt.index.count() == chunks_before
        assert set(rt.store.case_fingerprints()) == cases_before
        results = service.similar(rt, "knee osteoarthritis, what worked?", k=3, actor="test")
        assert results and {d.name for d in results[0].case.diagnoses} == {"knee_oa"}
        assert results[0].similarity >= rt.settings.retrieval.similarity_floor  # the ensemble's own floor (0.70)
    finally:
        rt.close()
