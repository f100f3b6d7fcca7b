"""Conformance of the vector-index backends that can run here: Qdrant Edge (the embedded default) and qdrant-client's
local mode. The Qdrant-server backend is the same `QdrantIndex` class as local mode over a URL; no Qdrant server
can be installed on these machines, so it is not exercised here.

Each test runs against every backend and asserts what the indexer and the retriever rely on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models

from casewise.errors import IndexUnavailableError
from casewise.settings import load_settings
from casewise.sparse import sparse_vector
from casewise.types import Chunk
from casewise.vectors import VectorIndex, next_physical
from casewise.vectors.factory import make_index

DIM = 16
BACKENDS = ["edge", "local"]
TEXTS = [
    "Gonartrosis derecha KL2, se infiltra plasma rico en plaquetas, EVA 7 a 3 a los 6 meses",
    "Knee osteoarthritis treated with hyaluronic acid, VAS improved from 8 to 5",
    "Tendinopatía rotuliana, ondas de choque, vuelta al deporte a los 3 meses",
    "Lateral epicondylitis, PRP injection, pain free at 12 months",
    "Coxartrosis izquierda, ácido hialurónico, sin mejoría",
    "Plantar fasciitis, shock wave therapy, VAS 6 to 2",
]


def _chunks() -> list[Chunk]:
    out = []
    for i, text in enumerate(TEXTS):
        out.append(Chunk(chunk_id="", doc_id=f"doc{i // 2}", case_id=f"case{i // 2}", position=i % 2, text=text,
                         section="note", language="es" if i % 2 == 0 else "en", date=f"2024-0{i + 1}-15",
                         diagnoses=["knee_oa"] if "nee" in text or "Gonartrosis" in text else ["other"]))
    return out


def _vectors(n: int, seed: int = 3) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    idx = make_index(load_settings(data_dir=tmp_path / request.param, index={"backend": request.param}))
    idx.ensure(DIM)
    yield idx
    idx.close()


def _fill(idx: VectorIndex) -> tuple[list[Chunk], np.ndarray, list[str]]:
    chunks = _chunks()
    vecs = _vectors(len(chunks))
    hashes = {c.doc_id: f"h-{c.doc_id}" for c in chunks}
    ids = idx.upsert(chunks, vecs, [sparse_vector(c.text) for c in chunks], hashes)
    return chunks, vecs, ids


def test_upserting_the_same_content_twice_never_duplicates(index: VectorIndex) -> None:
    _, _, ids = _fill(index)
    _, _, again = _fill(index)
    assert ids == again and index.count() == len(TEXTS)
    assert {pid for pid, _ in index.all_payloads()} == set(ids)


def test_dense_search_ranks_by_cosine_and_returns_payloads(index: VectorIndex) -> None:
    chunks, vecs, ids = _fill(index)
    hits = index.dense_search(vecs[3], flt=None, limit=3)
    assert str(hits[0].id) == ids[3] and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert hits[0].payload["text"] == chunks[3].text and hits[0].payload["chunk_id"] == ids[3]
    expected = np.argsort(-(vecs @ vecs[3]))[:3]
    assert [str(h.id) for h in hits] == [ids[i] for i in expected]


def test_sparse_search_finds_the_words_in_either_language(index: VectorIndex) -> None:
    _, _, ids = _fill(index)
    hits = index.sparse_search(sparse_vector("ácido hialurónico", query=True), flt=None, limit=10)
    assert {str(h.id) for h in hits} == {ids[1], ids[4]}  # hyaluronic acid (EN) and ácido hialurónico (ES)


def test_filters_restrict_every_search(index: VectorIndex) -> None:
    _, vecs, ids = _fill(index)
    knee = models.Filter(must=[models.FieldCondition(key="diagnoses", match=models.MatchAny(any=["knee_oa"]))])
    assert {str(h.id) for h in index.dense_search(vecs[5], flt=knee, limit=10)} == {ids[0], ids[1]}
    import datetime as dt

    spring = models.Filter(must=[models.FieldCondition(key="date", range=models.DatetimeRange(
        gte=dt.datetime(2024, 3, 1), lte=dt.datetime(2024, 5, 31, 23, 59)))])
    assert {str(h.id) for h in index.dense_search(vecs[0], flt=spring, limit=10)} == {ids[2], ids[3], ids[4]}
    english = models.Filter(must=[models.FieldCondition(key="language", match=models.MatchValue(value="en"))])
    assert {str(h.id) for h in index.sparse_search(sparse_vector("VAS", query=True), flt=english, limit=10)} == {
        ids[1], ids[5]}


def test_case_payload_is_copied_onto_every_chunk_of_the_case(index: VectorIndex) -> None:
    _, vecs, ids = _fill(index)
    index.set_case_payload_by_case("case1", {"sex": "F", "age_band": "60-69"})
    female = models.Filter(must=[models.FieldCondition(key="sex", match=models.MatchValue(value="F"))])
    assert {str(h.id) for h in index.dense_search(vecs[0], flt=female, limit=10)} == {ids[2], ids[3]}


def test_deleting_a_document_removes_all_its_points(index: VectorIndex) -> None:
    _, vecs, ids = _fill(index)
    index.delete_doc("doc1")
    assert index.count() == len(TEXTS) - 2
    assert {ids[2], ids[3]}.isdisjoint({str(h.id) for h in index.dense_search(vecs[2], flt=None, limit=10)})
    index.delete_points([ids[0]])
    assert index.count() == len(TEXTS) - 3


def test_dense_scores_are_the_cosines_of_given_points(index: VectorIndex) -> None:
    _, vecs, ids = _fill(index)
    scores = index.dense_scores(vecs[0], [ids[1], ids[4]])
    assert scores[ids[1]] == pytest.approx(float(vecs[0] @ vecs[1]), abs=1e-4)
    assert scores[ids[4]] == pytest.approx(float(vecs[0] @ vecs[4]), abs=1e-4)


def test_alias_switch_moves_queries_to_the_new_collection_at_once(index: VectorIndex) -> None:
    _fill(index)
    live = index.target()
    assert live == f"{index.alias}_v1"
    new = next_physical(index.alias, index.physical_names())
    assert new == f"{index.alias}_v2"
    index.create_physical(new, DIM)
    fresh = index.bound(new)
    chunk = _chunks()[:1]
    fresh.upsert(chunk, _vectors(1, seed=9), [sparse_vector(chunk[0].text)], {"doc0": "other"})
    assert index.count() == len(TEXTS), "queries still see the live collection while the new one fills"
    with pytest.raises(ValueError, match="points at it"):
        index.drop_physical(live)
    index.switch_alias(new)
    assert index.target() == new and index.count() == 1
    index.drop_physical(live)
    assert index.physical_names() == [new]


def test_both_backends_rank_the_same(tmp_path: Path) -> None:
    """Same points, same queries: Edge and local mode return the same ids in the same order, with the same scores."""
    results = {}
    for backend in BACKENDS:
        idx = make_index(load_settings(data_dir=tmp_path / backend, index={"backend": backend}))
        idx.ensure(DIM)
        _fill(idx)
        q = _vectors(1, seed=11)[0]
        dense = [(str(h.id), round(h.score, 4)) for h in idx.dense_search(q, flt=None, limit=6)]
        sparse = [(str(h.id), round(h.score, 3)) for h in idx.sparse_search(
            sparse_vector("rodilla knee PRP plasma", query=True), flt=None, limit=6)]
        results[backend] = (dense, sparse)
        idx.close()
    assert results["edge"] == results["local"]


def test_a_second_process_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """The embedded index has one owner; another process gets a one-line reason, never a corrupted index."""
    settings = load_settings(data_dir=tmp_path)
    idx = make_index(settings)
    idx.ensure(DIM)
    _fill(idx)
    code = textwrap.dedent(f"""
        from casewise.settings import load_settings
        from casewise.vectors.factory import make_index
        from casewise.errors import IndexUnavailableError
        try:
            make_index(load_settings(data_dir={str(tmp_path)!r})).count()
        except IndexUnavailableError as exc:
            print("REFUSED", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2], check=False)
    assert "REFUSED" in out.stdout and "another Casewise process" in out.stdout, out.stderr[-800:]
    idx.close()
    reopened = make_index(settings)
    assert reopened.count() == len(TEXTS), "nothing lost after the owner closed it"
    reopened.close()


def test_closed_index_reports_instead_of_crashing(tmp_path: Path) -> None:
    idx = make_index(load_settings(data_dir=tmp_path))
    idx.ensure(DIM)
    idx.close()
    with pytest.raises(IndexUnavailableError):
        idx.count()
