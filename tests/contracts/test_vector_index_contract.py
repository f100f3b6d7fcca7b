"""The VectorIndex contract, run against every backend that can run here: Qdrant Edge (the embedded default,
`EdgeIndex`) and qdrant-client's local mode (`QdrantIndex` over a folder). The Qdrant-server backend is the same
`QdrantIndex` class over a URL; no Qdrant server can be installed on these machines, so it is not exercised here.

Each test asserts what the indexer, the retriever and a backup rely on: writes that never duplicate, searches that
rank by cosine and honour filters, an alias switch that moves queries at once, state that survives a restart, and
one owner per folder.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from qdrant_client import models

from casewise.errors import IndexUnavailableError
from casewise.settings import load_settings
from casewise.sparse import sparse_vector
from casewise.types import Chunk
from casewise.vectors import VectorIndex, next_physical
from casewise.vectors.factory import make_index
from tests.contracts.base import Contract

DIM = 16
ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Gonartrosis derecha KL2, se infiltra plasma rico en plaquetas, EVA 7 a 3 a los 6 meses",
    "Knee osteoarthritis treated with hyaluronic acid, VAS improved from 8 to 5",
    "Tendinopatía rotuliana, ondas de choque, vuelta al deporte a los 3 meses",
    "Lateral epicondylitis, PRP injection, pain free at 12 months",
    "Coxartrosis izquierda, ácido hialurónico, sin mejoría",
    "Plantar fasciitis, shock wave therapy, VAS 6 to 2",
]
MakeIndex = Callable[[Path], VectorIndex]


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


def _fill(idx: VectorIndex) -> tuple[list[Chunk], np.ndarray, list[str]]:
    chunks = _chunks()
    vecs = _vectors(len(chunks))
    hashes = {c.doc_id: f"h-{c.doc_id}" for c in chunks}
    ids = idx.upsert(chunks, vecs, [sparse_vector(c.text) for c in chunks], hashes)
    return chunks, vecs, ids


def _ranking(idx: VectorIndex) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(dense, sparse) ids and rounded scores of two fixed queries: what a user sees as the result order."""
    q = _vectors(1, seed=11)[0]
    dense = [(str(h.id), round(h.score, 4)) for h in idx.dense_search(q, flt=None, limit=6)]
    sparse = [(str(h.id), round(h.score, 3)) for h in idx.sparse_search(
        sparse_vector("rodilla knee PRP plasma", query=True), flt=None, limit=6)]
    return dense, sparse


def _order(idx: VectorIndex) -> tuple[list[tuple[str, float]], list[str]]:
    """`_ranking` with the sparse scores left out: before a flush, Qdrant Edge still counts deleted points in its BM25
    IDF (EdgeIndex.flush reloads the shard; local mode stops at once), so sparse scores, not the order, may move."""
    dense, sparse = _ranking(idx)
    return dense, [pid for pid, _ in sparse]


class VectorIndexContract(Contract):
    """What every VectorIndex backend does. A subclass names its `backend` (Settings' `index.backend`)."""

    protocol = VectorIndex
    backend: ClassVar[str]

    @pytest.fixture()
    def make(self) -> Iterator[MakeIndex]:
        """Opens the backend's index in a data dir, as the composition root does; closes what it opened."""
        opened: list[VectorIndex] = []

        def make(data_dir: Path) -> VectorIndex:
            idx = make_index(load_settings(data_dir=data_dir, index={"backend": self.backend}))
            opened.append(idx)
            return idx

        yield make
        for idx in opened:
            idx.close()

    @pytest.fixture()
    def subject(self, make: MakeIndex, tmp_path: Path) -> VectorIndex:
        idx = make(tmp_path / "data")
        idx.ensure(DIM)
        return idx

    def test_upserting_the_same_content_twice_never_duplicates(self, subject: VectorIndex) -> None:
        _, _, ids = _fill(subject)
        _, _, again = _fill(subject)
        assert ids == again and subject.count() == len(TEXTS)
        assert {pid for pid, _ in subject.all_payloads()} == set(ids)

    def test_dense_search_ranks_by_cosine_and_returns_payloads(self, subject: VectorIndex) -> None:
        chunks, vecs, ids = _fill(subject)
        hits = subject.dense_search(vecs[3], flt=None, limit=3)
        assert str(hits[0].id) == ids[3] and hits[0].score == pytest.approx(1.0, abs=1e-3)
        assert hits[0].payload["text"] == chunks[3].text and hits[0].payload["chunk_id"] == ids[3]
        expected = np.argsort(-(vecs @ vecs[3]))[:3]
        assert [str(h.id) for h in hits] == [ids[i] for i in expected]

    def test_sparse_search_finds_the_words_in_either_language(self, subject: VectorIndex) -> None:
        _, _, ids = _fill(subject)
        hits = subject.sparse_search(sparse_vector("ácido hialurónico", query=True), flt=None, limit=10)
        assert {str(h.id) for h in hits} == {ids[1], ids[4]}  # hyaluronic acid (EN) and ácido hialurónico (ES)

    def test_filters_restrict_every_search(self, subject: VectorIndex) -> None:
        _, vecs, ids = _fill(subject)
        knee = models.Filter(must=[models.FieldCondition(key="diagnoses", match=models.MatchAny(any=["knee_oa"]))])
        assert {str(h.id) for h in subject.dense_search(vecs[5], flt=knee, limit=10)} == {ids[0], ids[1]}
        spring = models.Filter(must=[models.FieldCondition(key="date", range=models.DatetimeRange(
            gte=dt.datetime(2024, 3, 1), lte=dt.datetime(2024, 5, 31, 23, 59)))])
        assert {str(h.id) for h in subject.dense_search(vecs[0], flt=spring, limit=10)} == {ids[2], ids[3], ids[4]}
        english = models.Filter(must=[models.FieldCondition(key="language", match=models.MatchValue(value="en"))])
        assert {str(h.id) for h in subject.sparse_search(sparse_vector("VAS", query=True), flt=english, limit=10)} == {
            ids[1], ids[5]}

    def test_case_payload_is_copied_onto_every_chunk_of_the_case(self, subject: VectorIndex) -> None:
        _, vecs, ids = _fill(subject)
        subject.set_case_payload_by_case("case1", {"sex": "F", "age_band": "60-69"})
        female = models.Filter(must=[models.FieldCondition(key="sex", match=models.MatchValue(value="F"))])
        assert {str(h.id) for h in subject.dense_search(vecs[0], flt=female, limit=10)} == {ids[2], ids[3]}

    def test_deleting_a_document_removes_all_its_points(self, subject: VectorIndex) -> None:
        _, vecs, ids = _fill(subject)
        subject.delete_doc("doc1")
        assert subject.count() == len(TEXTS) - 2
        assert {ids[2], ids[3]}.isdisjoint({str(h.id) for h in subject.dense_search(vecs[2], flt=None, limit=10)})
        subject.delete_points([ids[0]])
        assert subject.count() == len(TEXTS) - 3

    def test_after_deletes_and_a_flush_bm25_scores_forget_the_deleted_documents(self, make: MakeIndex,
                                                                                 subject: VectorIndex,
                                                                                 tmp_path: Path) -> None:
        """What a re-index that removed documents leaves: lexical scores as if they had never been indexed."""
        _fill(subject)
        subject.delete_doc("doc1")
        subject.delete_doc("doc2")
        subject.flush()
        never = make(tmp_path / "never")
        never.ensure(DIM)
        kept = [c for c in _chunks() if c.doc_id not in ("doc1", "doc2")]
        never.upsert(kept, _vectors(len(TEXTS))[[0, 1]], [sparse_vector(c.text) for c in kept],
                     {c.doc_id: f"h-{c.doc_id}" for c in kept})
        assert _ranking(subject)[1] == _ranking(never)[1]

    def test_dense_scores_are_the_cosines_of_given_points(self, subject: VectorIndex) -> None:
        _, vecs, ids = _fill(subject)
        scores = subject.dense_scores(vecs[0], [ids[1], ids[4]])
        assert scores[ids[1]] == pytest.approx(float(vecs[0] @ vecs[1]), abs=1e-4)
        assert scores[ids[4]] == pytest.approx(float(vecs[0] @ vecs[4]), abs=1e-4)

    def test_alias_switch_moves_queries_to_the_new_collection_at_once(self, subject: VectorIndex) -> None:
        _fill(subject)
        live = subject.target()
        assert live == f"{subject.alias}_v1"
        new = next_physical(subject.alias, subject.physical_names())
        assert new == f"{subject.alias}_v2"
        subject.create_physical(new, DIM)
        fresh = subject.bound(new)
        chunk = _chunks()[:1]
        fresh.upsert(chunk, _vectors(1, seed=9), [sparse_vector(chunk[0].text)], {"doc0": "other"})
        assert subject.count() == len(TEXTS), "queries still see the live collection while the new one fills"
        with pytest.raises(ValueError, match="points at it"):
            subject.drop_physical(live)
        subject.switch_alias(new)
        assert subject.target() == new and subject.count() == 1
        subject.drop_physical(live)
        assert subject.physical_names() == [new]

    def test_writes_deletes_and_the_alias_switch_survive_a_reopen(self, make: MakeIndex, tmp_path: Path) -> None:
        """A restart (or `casewise serve` after `casewise index`) sees exactly what was written before it."""
        data = tmp_path / "data"
        idx = make(data)
        idx.ensure(DIM)
        _fill(idx)
        new = next_physical(idx.alias, idx.physical_names())
        idx.create_physical(new, DIM)
        chunks, vecs = _chunks(), _vectors(len(TEXTS), seed=5)
        idx.bound(new).upsert(chunks, vecs, [sparse_vector(c.text) for c in chunks],
                              {c.doc_id: f"h2-{c.doc_id}" for c in chunks})
        idx.switch_alias(new)
        idx.drop_physical(f"{idx.alias}_v1")
        idx.delete_doc("doc2")
        idx.set_case_payload_by_case("case0", {"sex": "M"})
        idx.flush()
        before = (idx.count(), idx.target(), idx.physical_names(), sorted(idx.all_payloads()), _order(idx))
        idx.close()

        again = make(data)
        assert again.exists()
        after = (again.count(), again.target(), again.physical_names(), sorted(again.all_payloads()), _order(again))
        assert after == before
        assert before[0] == len(TEXTS) - 2 and before[1] == new and before[2] == [new]
        male = models.Filter(must=[models.FieldCondition(key="sex", match=models.MatchValue(value="M"))])
        assert len(again.dense_search(vecs[0], flt=male, limit=10)) == 2

    def test_a_copy_opens_as_the_same_index(self, make: MakeIndex, subject: VectorIndex, tmp_path: Path) -> None:
        """What a backup archives (`copy_to`) is restored into another data dir and answers the same queries."""
        _fill(subject)
        copy = tmp_path / "copy"
        assert subject.copy_to(copy) is True
        restored_dir = tmp_path / "restored"
        qdrant_folder = load_settings(data_dir=restored_dir, index={"backend": self.backend}).qdrant_path
        shutil.copytree(copy, qdrant_folder)
        restored = make(restored_dir)
        assert restored.count() == subject.count() == len(TEXTS)
        assert _ranking(restored) == _ranking(subject)

    def test_a_second_process_is_refused_with_a_clear_error(self, make: MakeIndex, tmp_path: Path) -> None:
        """The embedded index has one owner; another process gets a one-line reason, never a corrupted index."""
        data = tmp_path / "data"
        idx = make(data)
        idx.ensure(DIM)
        _fill(idx)
        code = textwrap.dedent(f"""
            from casewise.settings import load_settings
            from casewise.vectors.factory import make_index
            from casewise.errors import IndexUnavailableError
            try:
                make_index(load_settings(data_dir={str(data)!r}, index={{"backend": {self.backend!r}}})).count()
            except IndexUnavailableError as exc:
                print("REFUSED", exc)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                             check=False)
        assert "REFUSED" in out.stdout and "another Casewise process" in out.stdout, out.stderr[-800:]
        idx.close()
        reopened = make(data)
        assert reopened.count() == len(TEXTS), "nothing lost after the owner closed it"

    def test_closed_index_reports_instead_of_crashing(self, subject: VectorIndex) -> None:
        subject.close()
        with pytest.raises(IndexUnavailableError):
            subject.count()


class TestEdgeIndex(VectorIndexContract):
    backend = "edge"


class TestQdrantLocalIndex(VectorIndexContract):
    backend = "local"


def test_both_backends_rank_the_same(tmp_path: Path) -> None:
    """Same points, same queries: Edge and local mode return the same ids in the same order, with the same scores."""
    results = {}
    for backend in (TestEdgeIndex.backend, TestQdrantLocalIndex.backend):
        idx = make_index(load_settings(data_dir=tmp_path / backend, index={"backend": backend}))
        idx.ensure(DIM)
        _fill(idx)
        results[backend] = _ranking(idx)
        idx.close()
    assert results["edge"] == results["local"]
