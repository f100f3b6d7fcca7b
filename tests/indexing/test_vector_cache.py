"""The data folder's vector cache: a rebuild or re-index embeds no unchanged text twice, gives the same vectors, and
holds only vectors of texts in the index now (an erased or deleted document's vectors leave with it)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from app.runtime import Runtime
from casewise.embedding.cache import CACHE_FILE, VectorCache, cache_path
from casewise.settings import load_settings
from indexing.pipeline import Indexer


class Counting:
    """An embedder that counts the passages it is asked to embed (the model itself is the real one)."""

    def __init__(self, inner: object, identity: str | None = None) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.identity = identity or inner.identity  # type: ignore[attr-defined]
        self.embedded: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("cache_clinic")
    generate_clinic(root, patients=6, seed=31)
    return root


def _indexer(data: Path, identity: str | None = None) -> tuple[Runtime, Indexer, Counting]:
    rt = Runtime(load_settings(data_dir=data))
    emb = Counting(rt.embedder, identity)
    return rt, Indexer(rt.settings, rt.store, rt.index, emb, rt.deid), emb  # type: ignore[arg-type]


def _texts(rt: Runtime) -> dict[str, str]:
    return {pid: p["text"] for pid, p in rt.index.all_payloads()}


def _dense(rt: Runtime) -> dict[str, tuple[float, ...]]:
    """Each point's cosine to three fixed random probes: equal for equal vectors."""
    ids = [pid for pid, _ in rt.index.all_payloads()]
    probes = np.random.default_rng(5).standard_normal((3, rt.embedder.dim)).astype(np.float32)
    scores = [rt.index.dense_scores(p / np.linalg.norm(p), ids) for p in probes]
    return {pid: tuple(s[pid] for s in scores) for pid in ids}


def test_a_rebuild_embeds_nothing_twice_and_writes_the_same_vectors(clinic: Path, tmp_path: Path) -> None:
    rt, indexer, emb = _indexer(tmp_path / "data")
    first = indexer.run([clinic])
    assert first.chunks_written > 0 and emb.embedded, "a first run embeds"
    assert len(emb.embedded) == len(set(emb.embedded)), "a text repeated in one run is embedded once"
    before = _dense(rt)
    emb.embedded.clear()
    rebuilt = indexer.rebuild([clinic])
    assert rebuilt.chunks_written == first.chunks_written, "every document was processed again"
    assert emb.embedded == [], "no text embedded twice"
    after = _dense(rt)
    assert after == before, "the same vectors as embedding again"
    assert cache_path(rt.settings.data_dir).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0, "owner only"
    rt.close()


def test_a_fresh_store_and_index_beside_the_cache_embed_nothing(clinic: Path, tmp_path: Path) -> None:
    """What `casewise demo` does on its later runs: every stage runs and writes anew, only the cache stays."""
    data = tmp_path / "data"
    rt, indexer, _ = _indexer(data)
    indexer.run([clinic])
    before = _texts(rt)
    rt.close()
    for child in data.iterdir():
        if not child.name.startswith(CACHE_FILE):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    rt, indexer, emb = _indexer(data)
    report = indexer.run([clinic])
    assert report.added > 0 and emb.embedded == []
    assert _texts(rt) == before
    rt.close()


def test_an_erased_document_leaves_no_vector_in_the_cache(clinic: Path, tmp_path: Path) -> None:
    rt, indexer, emb = _indexer(tmp_path / "data")
    indexer.run([clinic])
    cache = indexer.vector_cache
    note = next(r for r in rt.store.documents() if r.source_path.endswith(".txt") and r.chunk_ids)
    payloads = dict(rt.index.all_payloads())
    own = [payloads[c]["text"] for c in note.chunk_ids]
    others = {p["text"] for p in payloads.values() if p["doc_id"] != note.doc_id}
    only_its_own = [t for t in own if t not in others]
    assert only_its_own and all(cache.holds(emb, t) for t in own)
    erased = [cache.get(emb, t) for t in only_its_own]
    indexer.remove(note.doc_id)
    assert not any(cache.holds(emb, t) for t in only_its_own), "the erased document's vectors are gone"
    assert all(cache.holds(emb, t) for t in others), "the other documents' vectors stay"
    cache.close()
    raw = cache_path(rt.settings.data_dir).read_bytes()
    assert not any(v is not None and v.tobytes()[:96] in raw for v in erased), "nor left in the file's free pages"
    rt.close()


def test_a_deleted_or_changed_file_drops_its_old_vectors(clinic: Path, tmp_path: Path) -> None:
    src = tmp_path / "clinic"
    shutil.copytree(clinic, src)
    rt, indexer, emb = _indexer(tmp_path / "data")
    indexer.run([src])
    cache = indexer.vector_cache
    notes = sorted((r for r in rt.store.documents() if r.source_path.endswith(".txt") and r.chunk_ids),
                   key=lambda r: r.source_path)
    gone, changed = notes[0], notes[1]
    payloads = dict(rt.index.all_payloads())
    texts_of = {d.doc_id: [payloads[c]["text"] for c in d.chunk_ids] for d in (gone, changed)}
    Path(gone.source_path).unlink()
    Path(changed.source_path).write_text("Paciente con dolor lumbar crónico. Se pauta fisioterapia.\n", encoding="utf-8")
    kept = {p["text"] for p in payloads.values() if p["doc_id"] not in texts_of}
    emb.embedded.clear()
    report = indexer.run([src])
    assert report.deleted == 1 and report.changed == 1
    assert not any(cache.holds(emb, t) for d in texts_of.values() for t in d if t not in kept)
    now = set(_texts(rt).values())
    assert all(cache.holds(emb, t) for t in now), "every indexed text has its vector cached"
    assert cache.count() == len(now)
    assert set(emb.embedded) <= now and "Paciente con dolor lumbar" in " ".join(emb.embedded)
    cache.close()
    rt.close()


def test_a_cache_from_another_embedder_is_ignored_and_then_dropped(clinic: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt, indexer, _ = _indexer(data)
    indexer.run([clinic])
    n = indexer.vector_cache.count()
    rt.close()
    rt, indexer, emb = _indexer(data, identity="another-model@0123456789abcdef")
    indexer.run([clinic])  # another identity: the index rebuilds itself
    assert len(set(emb.embedded)) == n, "every text embedded again by the other model"
    cache = VectorCache(cache_path(data))
    assert cache.count() == n, "the first model's vectors were dropped once no indexed document used them"
    assert all(cache.holds(emb, t) for t in _texts(rt).values())
    cache.close()
    rt.close()


def test_a_full_cache_file_fails_in_one_line_naming_it_and_keeps_what_it_held(clinic: Path, tmp_path: Path) -> None:
    """SQLite's own page limit makes the file full for real (SQLITE_FULL, as a full disk gives): the error names the
    cache and the cause, and the vectors written before stay readable."""
    from casewise.errors import IndexUnavailableError

    rt, _, _ = _indexer(tmp_path / "data")
    cache = VectorCache(tmp_path / "full.sqlite")
    first = cache.passages(rt.embedder, ["Gonartrosis grado 2, EVA 7."], ["doc-1"])
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count = {pages}")
    many = [f"Nota de control {i}: EVA {i % 10}/10 tras PRP, sin incidencias. " * 20 for i in range(40)]
    with pytest.raises(IndexUnavailableError, match=r"full\.sqlite could not store new vectors: .*full"):
        cache.passages(rt.embedder, many, [f"doc-{i + 2}" for i in range(40)])
    assert np.allclose(cache.get(rt.embedder, "Gonartrosis grado 2, EVA 7."), first[0])
    assert cache.count() == 1, "the failed write left nothing half-written"
    cache.close()
    rt.close()
