"""An index built with another embedding model (an upgrade changed the default): queries say to rebuild, and the next
`casewise index` rebuilds it by itself, keeping every case (real embedders, real embedded index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import clinical as service
from casewise.embedding import E5_SMALL, MINILM, MINILM_E5
from casewise.errors import IndexUnavailableError
from casewise.vectors import stored_embedder

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


def _index_notes(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    return notes


def test_another_model_of_the_same_vector_size_is_refused_then_rebuilt(tmp_path: Path) -> None:
    """MiniLM and e5-small both write 384-d vectors: the size alone cannot tell them apart, the recorded identity does."""
    from indexing.pipeline import Indexer

    notes, data = _index_notes(tmp_path), tmp_path / "data"
    old = _runtime(data, MINILM)
    Indexer(old.settings, old.store, old.index, old.embedder, old.deid).run([notes])
    built_by = stored_embedder(old.index)
    assert built_by == old.embedder.identity and built_by.startswith(f"{MINILM}@")
    old.close()

    rt = _runtime(data, E5_SMALL)
    try:
        assert rt.embedder.dim == 384 and rt.embedder.identity != built_by
        with pytest.raises(IndexUnavailableError, match="another embedding model.*--rebuild"):
            service.similar(rt, "gonartrosis de rodilla", k=3, actor="test")
        report = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([notes])
        assert not report.quarantined and report.unchanged == 0  # every file embedded again, none kept as is
        assert stored_embedder(rt.index) == rt.embedder.identity
        assert all(p.get("embedder") == rt.embedder.identity for _, p in rt.index.all_payloads())
        results = service.similar(rt, "gonartrosis de rodilla", k=3, actor="test")
        assert results and {d.name for d in results[0].case.diagnoses} == {"knee_oa"}
    finally:
        rt.close()


def test_the_same_model_keeps_its_index_and_another_passage_prefix_does_not(tmp_path: Path) -> None:
    """A second `casewise index` with the same model embeds nothing again; the same folder with another passage prefix
    (vectors of other texts) is another model to the index."""
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.pipeline import Indexer

    notes, data = _index_notes(tmp_path), tmp_path / "data"
    rt = _runtime(data, MINILM)
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([notes])
    again = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([notes])
    assert again.unchanged == len(NOTES)
    rt.close()

    prefixed = Runtime(load_settings(data_dir=data, embedding={"model": MINILM, "passage_prefix": "passage: "}))
    try:
        assert prefixed.embedder.identity != stored_embedder(prefixed.index)
        report = Indexer(prefixed.settings, prefixed.store, prefixed.index, prefixed.embedder, prefixed.deid).run([notes])
        assert report.unchanged == 0 and stored_embedder(prefixed.index) == prefixed.embedder.identity
    finally:
        prefixed.close()


def test_onnx_and_sentence_transformers_of_one_folder_are_one_model_to_the_index() -> None:
    """Switching backend (CPU onnx to GPU sentence-transformers) gives the same vectors, so it must not force a rebuild."""
    from casewise.embedding.factory import build_embedder
    from casewise.settings import EmbeddingSettings

    onnx = build_embedder(EmbeddingSettings(model=MINILM, backend="onnx"))
    torch_run = build_embedder(EmbeddingSettings(model=MINILM, backend="sentence-transformers"))
    assert type(onnx).__name__ != type(torch_run).__name__
    assert onnx.identity == torch_run.identity
