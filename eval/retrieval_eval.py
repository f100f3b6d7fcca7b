"""Retrieval quality on any CodiEsp-format folder: BM25, dense, LlamaIndex's default, RRF and Casewise's hybrid.

`casewise eval retrieval --codiesp DIR [--lang es|en|en-es] [--json] [--limit N] [--model M] [--methods ...] [--report DIR]
[--train DIR | --folds K]` (`python -m eval.retrieval_eval` also takes `--backend` and `--cache DIR`).

With --train (a coder learned on another folder) or --folds K (each fold's coder learned on the other folds; a fold is
its own queries and corpus), queries and cases carry only predicted codes, and Casewise's channels alone (dense,
lexical, concept), Casewise at each concept weight and the paired difference Casewise minus its best channel are added.

Protocol: every case is a query (its first 600 characters, in the query language); the corpus is the other cases,
split into ~200-word chunks (a case scores as its best chunk). A case is relevant to a query when their sets of
3-character ICD-10 diagnosis categories have Jaccard >= 0.3. recall@10, nDCG@10 and MRR are averaged over queries
with at least one relevant case (with standard errors); graded nDCG@10 (gain = Jaccard) over every query that shares
any category with another case.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from casewise.embedding import Embedder
from casewise.sparse import sparse_vector
from casewise.types import Case, Code, Language

QUERY_CHARS = 600
CHUNK_WORDS = 200
JACCARD_MIN = 0.3
K = 10
DEPTH = 100  # cases ranked per query (MRR is MRR@100)
RRF_K = 60.0
LANGS = {"es": ("text_files", "text_files"), "en": ("text_files_en", "text_files_en"),
         "en-es": ("text_files_en", "text_files")}
CORPUS_LANGUAGE: dict[str, Language] = {"es": "es", "en": "en", "en-es": "es"}
METHODS = ("bm25", "dense", "llamaindex", "rrf", "casewise")
CONCEPT_WEIGHTS = (0.0, 0.25, 0.5, 1.0)  # the concept channel's weights tried (0 is the shipped default)
CHANNELS = ("casewise[dense]", "casewise[lexical]", "casewise[concept]")
QUERY_LANGUAGE: dict[str, Language] = {"es": "es", "en": "en", "en-es": "en"}

Ranking = list[str]


@dataclass
class Corpus:
    """Cases with query text, corpus chunks and diagnosis categories."""

    queries: dict[str, str]
    chunks: list[tuple[str, str]]  # (case_id, text)
    categories: dict[str, frozenset[str]]
    relevant: dict[str, dict[str, float]] = field(default_factory=dict)  # query -> {case: jaccard >= threshold}
    graded: dict[str, dict[str, float]] = field(default_factory=dict)    # query -> {case: jaccard > 0}
    chunk_language: Language | None = None  # the corpus's language, as the indexer records it per chunk


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _codes_file(folder: Path) -> Path:
    hits = sorted(folder.glob("*D.tsv"))
    if not hits:
        raise SystemExit(f"no diagnosis file (*D.tsv with 'doc_id<TAB>code' lines) in {folder}")
    return hits[0]


def chunk_words(text: str, size: int = CHUNK_WORDS) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + size]) for i in range(0, len(words), size)] or [""]


def load_codiesp(folder: Path, lang: str = "es", limit: int | None = None) -> Corpus:
    """Read text files and diagnosis codes; keep cases that have text in both needed folders and >= 1 code."""
    if lang not in LANGS:
        raise SystemExit(f"--lang must be one of {sorted(LANGS)}")
    qdir, cdir = (folder / d for d in LANGS[lang])
    for d in (qdir, cdir):
        if not d.is_dir():
            raise SystemExit(f"missing folder {d} (CodiEsp layout: text_files/, text_files_en/, trainD.tsv)")
    cats: dict[str, set[str]] = defaultdict(set)
    for line in _codes_file(folder).read_text(encoding="utf-8").splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2 and parts[1]:
            cats[parts[0]].add(parts[1].strip().upper().replace(".", "")[:3])
    ids = sorted(p.stem for p in qdir.glob("*.txt") if (cdir / p.name).exists() and cats.get(p.stem))
    if limit:
        ids = ids[:limit]
    queries = {i: (qdir / f"{i}.txt").read_text(encoding="utf-8")[:QUERY_CHARS] for i in ids}
    chunks = [(i, c) for i in ids for c in chunk_words((cdir / f"{i}.txt").read_text(encoding="utf-8"))]
    corpus = Corpus(queries, chunks, {i: frozenset(cats[i]) for i in ids}, chunk_language=CORPUS_LANGUAGE[lang])
    for q in ids:
        sims = {d: jaccard(corpus.categories[q], corpus.categories[d]) for d in ids if d != q}
        corpus.graded[q] = {d: s for d, s in sims.items() if s > 0}
        corpus.relevant[q] = {d: s for d, s in sims.items() if s >= JACCARD_MIN}
    return corpus


# -- codes predicted by a coder that never saw the evaluated notes ----------------------------------------------
@dataclass
class Coded:
    """Predicted codes of each query and each corpus case, and the note ids their coder learned from."""

    queries: dict[str, list[Code]]
    cases: dict[str, list[Code]]
    trained_on: frozenset[str]


def fold_of(doc_id: str, folds: int) -> int:
    """Deterministic fold of a document: sha1 of its id, first 8 hex digits, modulo the number of folds."""
    return int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) % folds


def coder_languages(lang: str) -> tuple[str, ...]:
    return tuple(sorted({QUERY_LANGUAGE[lang], CORPUS_LANGUAGE[lang]}))


def learn_coder(folder: Path, lang: str, exclude: frozenset[str] = frozenset()) -> tuple[Any, frozenset[str]]:
    """A coder learned on a CodiEsp-format folder (indexing.coding.learn), leaving out the `exclude` note ids;
    returns it with the ids it learned from."""
    from indexing.coding.coder import LexiconCoder
    from indexing.coding.codiesp import read_folders
    from indexing.coding.learn import aligner, learn_codes, learn_model, project_english

    languages = coder_languages(lang)
    if not exclude:
        report = learn_codes([folder], languages=languages)
        return LexiconCoder(report.model), frozenset(read_folders([folder]))
    notes = [n for i, n in read_folders([folder]).items() if i not in exclude]
    align = None
    if "en" in languages:  # the same steps as learn_codes, on the kept notes only
        align = aligner(notes)
        project_english(notes, align)
    model = learn_model(notes, languages=languages, translations=align.translations if align else None)
    return LexiconCoder(model), frozenset(n.note_id for n in notes)


def predict_codes(corpus: Corpus, coder: Any, trained_on: frozenset[str], lang: str) -> Coded:
    """Queries and corpus cases coded from their own text only (the gold codes stay for judging relevance)."""
    leaked = trained_on & set(corpus.queries)
    if leaked:
        raise ValueError(f"the coder learned from {len(leaked)} evaluated notes (e.g. {min(leaked)})")
    text: dict[str, list[str]] = defaultdict(list)
    for c, t in corpus.chunks:
        text[c].append(t)
    qlang, clang = QUERY_LANGUAGE[lang], CORPUS_LANGUAGE[lang]
    return Coded({q: coder.code(t, language=qlang) for q, t in corpus.queries.items()},
                 {c: coder.code(" ".join(ts), language=clang) for c, ts in text.items()}, trained_on)


def concept_ranking(corpus: Corpus, coded: Coded) -> dict[str, Ranking]:
    """The concept channel alone: cases by IDF-weighted share of the query's predicted categories (ties: by id)."""
    from retrieval.concepts import ConceptIdf, categories, overlap

    cases = _CodedCases(coded.cases).cases
    idf = ConceptIdf.of_cases(cases.values())
    out: dict[str, Ranking] = {}
    for q in corpus.queries:
        qc = categories(coded.queries.get(q, []))
        scores = {c: overlap(qc, case, idf) for c, case in cases.items() if c != q}
        out[q] = sorted(scores, key=lambda c: (-scores[c], c))[:DEPTH]
    return out


# -- metrics -------------------------------------------------------------------------------------------------
def ndcg(ranking: Sequence[str], gains: dict[str, float], k: int = K) -> float:
    """nDCG@k with linear gains (1 for binary relevance)."""
    dcg = sum(gains.get(c, 0.0) / math.log2(r + 2) for r, c in enumerate(ranking[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranking: Sequence[str], relevant: dict[str, float], k: int = K) -> float:
    return len(set(ranking[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: dict[str, float]) -> float:
    return next((1.0 / (r + 1) for r, c in enumerate(ranking) if c in relevant), 0.0)


def _mean_se(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    arr = np.asarray(values, dtype=np.float64)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return float(arr.mean()), se


def per_query(corpus: Corpus, rankings: dict[str, Ranking]) -> dict[str, dict[str, float]]:
    """metric -> {query: value} (binary metrics over queries with a relevant case, graded over any sharing one)."""
    binq = [q for q in corpus.queries if corpus.relevant[q]]
    grq = [q for q in corpus.queries if corpus.graded[q]]
    return {"recall@10": {q: recall(rankings[q], corpus.relevant[q]) for q in binq},
            "ndcg@10": {q: ndcg(rankings[q], {d: 1.0 for d in corpus.relevant[q]}) for q in binq},
            "mrr": {q: reciprocal_rank(rankings[q], corpus.relevant[q]) for q in binq},
            "graded_ndcg@10": {q: ndcg(rankings[q], corpus.graded[q]) for q in grq}}


def summarise(values: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Means with standard errors of per-query values (pooled over folds when they come from several)."""
    out: dict[str, Any] = {"n_queries": len(values["ndcg@10"]), "n_graded_queries": len(values["graded_ndcg@10"])}
    for name, vals in values.items():
        out[name], out[name + "_se"] = _mean_se(list(vals.values()))
    return out


def score(corpus: Corpus, rankings: dict[str, Ranking]) -> dict[str, Any]:
    """Metrics with standard errors for one method's rankings."""
    return summarise(per_query(corpus, rankings))


def paired(a: dict[str, float], b: dict[str, float]) -> tuple[float, float]:
    """Mean and standard error of a - b over the queries both have."""
    return _mean_se([a[q] - b[q] for q in a if q in b])


# -- methods -------------------------------------------------------------------------------------------------
def _best_chunk_ranking(case_of: Sequence[str], scores: np.ndarray, exclude: str, depth: int = DEPTH) -> Ranking:
    best: dict[str, float] = {}
    for i in np.argsort(-scores, kind="stable"):
        c = case_of[i]
        if c != exclude and c not in best:
            best[c] = float(scores[i])
            if len(best) >= depth:
                break
    return list(best)


def bm25_scores(corpus: Corpus) -> Callable[[str], np.ndarray]:
    """BM25 over chunks: casewise.sparse weights times IDF (Qdrant's formula, as its IDF modifier applies)."""
    docs = [dict(zip(*sparse_vector(t), strict=True)) for _, t in corpus.chunks]
    df: dict[int, int] = defaultdict(int)
    for d in docs:
        for i in d:
            df[i] += 1
    n = len(docs)
    idf = {i: math.log(1 + (n - f + 0.5) / (f + 0.5)) for i, f in df.items()}
    postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for j, d in enumerate(docs):
        for i, w in d.items():
            postings[i].append((j, w * idf[i]))

    def run(query: str) -> np.ndarray:
        s = np.zeros(n, dtype=np.float64)
        for i, w in zip(*sparse_vector(query, query=True), strict=True):
            for j, v in postings.get(i, ()):
                s[j] += w * v
        return s

    return run


class CachedEmbedder:
    """Wraps an Embedder with an on-disk cache of vectors keyed by model, role and text (reruns cost nothing)."""

    def __init__(self, inner: Embedder, cache_dir: Path | None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.encoded = 0
        ident = f"{inner.name}|{type(inner).__name__}|{Path(str(getattr(inner, 'onnx_path', ''))).name}"
        self._path = cache_dir / f"{hashlib.sha1(ident.encode()).hexdigest()[:12]}.npz" if cache_dir else None
        self._mem: dict[str, np.ndarray] = {}
        if self._path and self._path.exists():
            with np.load(self._path) as z:
                self._mem = {k: z[k] for k in z.files}

    @property
    def identity(self) -> str:
        return self.inner.identity

    def _get(self, role: str, texts: list[str], fn: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        keys = [hashlib.sha1(f"{role}\0{t}".encode()).hexdigest() for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self._mem]
        if todo:
            t0 = time.perf_counter()
            vecs = fn([texts[i] for i in todo])
            self.seconds += time.perf_counter() - t0
            self.encoded += len(todo)
            for i, v in zip(todo, vecs, strict=True):
                self._mem[keys[i]] = v
            if self._path:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self._path.with_suffix(".tmp.npz")
                np.savez(tmp, **self._mem)  # type: ignore[arg-type]
                tmp.replace(self._path)
        return np.stack([self._mem[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._get("p", texts, self.inner.embed_passages)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._get("q", texts, self.inner.embed_queries)


def cached(embedder: Embedder, cache_dir: Path | None) -> Embedder:
    """The embedder with an on-disk vector cache; an ensemble caches each of its models (shared with single-model runs)."""
    from casewise.embedding.ensemble import EnsembleEmbedder

    if isinstance(embedder, EnsembleEmbedder):
        return EnsembleEmbedder(embedder.name, [(CachedEmbedder(e, cache_dir), w) for e, w in embedder.parts])
    return CachedEmbedder(embedder, cache_dir)


def llamaindex_embedding(embedder: Embedder) -> Any:
    """Our embedder as a LlamaIndex BaseEmbedding (no OpenAI, no download)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class CasewiseEmbedding(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=64)
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_passages(texts).tolist()

    return CasewiseEmbedding(embedder)


def llamaindex_rankings(corpus: Corpus, embedder: Embedder) -> dict[str, Ranking]:
    """LlamaIndex's default in-memory VectorStoreIndex + retriever over the same chunks; cases ranked by best chunk."""
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    # The case id rides as metadata but stays out of the embedded text, so both see the same chunk text.
    nodes = [TextNode(text=t, id_=f"{c}#{i}", metadata={"case_id": c}, excluded_embed_metadata_keys=["case_id"],
                      excluded_llm_metadata_keys=["case_id"]) for i, (c, t) in enumerate(corpus.chunks)]
    index = VectorStoreIndex(nodes, embed_model=llamaindex_embedding(embedder), show_progress=False)
    retriever = index.as_retriever(similarity_top_k=min(len(nodes), DEPTH * 3))
    out: dict[str, Ranking] = {}
    for q, text in corpus.queries.items():
        seen: dict[str, None] = {}
        for hit in retriever.retrieve(text):
            c = hit.node.metadata["case_id"]
            if c != q:
                seen.setdefault(c, None)
        out[q] = list(seen)[:DEPTH]
    return out


def rrf(*rankings: Ranking, k: float = RRF_K) -> Ranking:
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for r, c in enumerate(ranking):
            scores[c] += 1.0 / (k + r + 1)
    return sorted(scores, key=lambda c: -scores[c])[:DEPTH]


class _NoCases:
    """Store stand-in: CodiEsp has no structured cases, so the structural re-rank contributes nothing."""

    def get_cases(self, case_ids: list[str]) -> dict[str, Any]:
        return {}

    def get_case(self, case_id: str) -> None:
        return None

    def case_fingerprints(self) -> dict[str, str]:
        return {}


class _CodedCases(_NoCases):
    """Store stand-in whose cases carry only predicted codes. Every case is otherwise empty, so the structural
    re-rank gives each the same score and changes no ranking; only the concept channel reads the codes."""

    def __init__(self, codes: dict[str, list[Code]]) -> None:
        self.cases = {c: Case(case_id=c, codes=v) for c, v in codes.items()}

    def get_cases(self, case_ids: list[str]) -> dict[str, Any]:
        return {c: self.cases[c] for c in case_ids if c in self.cases}

    def get_case(self, case_id: str) -> Any:
        return self.cases.get(case_id)

    def case_fingerprints(self) -> dict[str, str]:
        return {c: "predicted" for c in self.cases}


def casewise_rankings(corpus: Corpus, embedder: Embedder, chunk_vecs: np.ndarray, *,
                      coded: Coded | None = None, concept_weights: Sequence[float] = (0.0,)
                      ) -> dict[float, dict[str, Ranking]]:
    """Casewise's own retriever (hybrid fusion in Qdrant, grouping by case, re-rank) on an in-memory Qdrant, once per
    concept weight; with `coded`, queries and cases carry only the predicted codes (the concept channel's input)."""
    import warnings

    from qdrant_client import QdrantClient

    from casewise.settings import Settings
    from casewise.types import Chunk
    from casewise.vectors.qdrant import QdrantIndex
    from retrieval import search
    from retrieval.search import CaseRetriever

    # The "why" explanation stems every returned chunk on every query; memoising the (pure) stemmer keeps the
    # evaluation fast without changing any ranking.
    if not hasattr(search.terms, "cache_info"):
        search.terms = functools.lru_cache(maxsize=200_000)(search.terms)  # type: ignore[assignment]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = QdrantIndex(QdrantClient(":memory:"), "eval_chunks")
        index.ensure(embedder.dim)
        chunks = [Chunk(chunk_id=f"{c}#{i}", doc_id=c, case_id=c, position=i, text=t, language=corpus.chunk_language)
                  for i, (c, t) in enumerate(corpus.chunks)]
        index.upsert(chunks, chunk_vecs, [sparse_vector(t) for _, t in corpus.chunks],
                     {c: "eval" for c in corpus.queries})
    store = _CodedCases(coded.cases) if coded else _NoCases()
    out: dict[float, dict[str, Ranking]] = {}
    for w in concept_weights:
        base = Settings()
        settings = base.model_copy(update={"retrieval": base.retrieval.model_copy(
            update={"concept_weight": {"es": w, "en": w}})})
        retriever = CaseRetriever(settings, store, index, embedder)  # type: ignore[arg-type]
        out[w] = {q: [r.case_id for r in retriever.similar(
            text, k=min(DEPTH, 100), exclude_case=q, query_codes=coded.queries.get(q) if coded else None)]
            for q, text in corpus.queries.items()}
    return out


def _parts(embedder: Embedder) -> list[tuple[str, slice]]:
    """(short name, its columns in the joined vector) for each model of an ensemble; nothing for a single model."""
    out, start = [], 0
    for e, _ in getattr(embedder, "parts", None) or []:
        out.append((str(e.name).removeprefix("bundled:"), slice(start, start + e.dim)))
        start += e.dim
    return out


def rank_all(corpus: Corpus, embedder: Embedder | None, methods: Sequence[str] = METHODS,
             coded: Coded | None = None) -> dict[str, dict[str, Ranking]]:
    """Every method's rankings; with `coded` also Casewise's channels alone and Casewise at each concept weight
    ('casewise@w'; 'casewise' is the shipped default, weight 0)."""
    case_of = [c for c, _ in corpus.chunks]
    rankings: dict[str, dict[str, Ranking]] = {}
    if {"bm25", "rrf"} & set(methods):
        bm = bm25_scores(corpus)
        rankings["bm25"] = {q: _best_chunk_ranking(case_of, bm(t), q) for q, t in corpus.queries.items()}
    need_dense = {"dense", "rrf", "casewise", "llamaindex"} & set(methods)
    if need_dense and embedder is None:
        raise SystemExit("dense methods need an embedder")
    chunk_vecs = np.zeros((0, 0), np.float32)
    if need_dense and embedder is not None:
        chunk_vecs = embedder.embed_passages([t for _, t in corpus.chunks])
        qids = list(corpus.queries)
        qvecs = embedder.embed_queries([corpus.queries[q] for q in qids])
        sims = qvecs @ chunk_vecs.T
        rankings["dense"] = {q: _best_chunk_ranking(case_of, sims[i], q) for i, q in enumerate(qids)}
        for name, block in _parts(embedder) if "dense" in methods else ():
            # each model of an ensemble alone: plain vector search with the best single model is a baseline too.
            # Its vectors are a scaled block of the ensemble's, and scaling does not change a ranking.
            ps = qvecs[:, block] @ chunk_vecs[:, block].T
            rankings[f"dense[{name}]"] = {q: _best_chunk_ranking(case_of, ps[i], q) for i, q in enumerate(qids)}
    if "rrf" in methods:
        rankings["rrf"] = {q: rrf(rankings["bm25"][q], rankings["dense"][q]) for q in corpus.queries}
    if "llamaindex" in methods and embedder is not None:
        rankings["llamaindex"] = llamaindex_rankings(corpus, embedder)
    if coded is not None:
        # Casewise's dense and lexical channels score a case by its best chunk's cosine and its best chunk's
        # Qdrant-IDF sparse score: alone, those are the 'dense' and 'bm25' rankings over the same chunks.
        if "dense" in rankings:
            rankings["casewise[dense]"] = rankings["dense"]
        if "bm25" in rankings:
            rankings["casewise[lexical]"] = rankings["bm25"]
        rankings["casewise[concept]"] = concept_ranking(corpus, coded)
    if "casewise" in methods and embedder is not None:
        weights = CONCEPT_WEIGHTS if coded is not None else (0.0,)
        by_weight = casewise_rankings(corpus, embedder, chunk_vecs, coded=coded, concept_weights=weights)
        rankings["casewise"] = by_weight[0.0]
        for w, r in by_weight.items():
            if w:
                rankings[f"casewise@{w:g}"] = r
    return {m: r for m, r in rankings.items() if m in methods or "[" in m or m.startswith("casewise")}


def evaluate(corpus: Corpus, embedder: Embedder | None, methods: Sequence[str] = METHODS) -> dict[str, Any]:
    """Rankings of every method, scored."""
    return {m: score(corpus, r) for m, r in rank_all(corpus, embedder, methods).items()}


def split_folds(corpus: Corpus, folds: int) -> list[Corpus]:
    """The corpus cut into `folds` parts by `fold_of`; each part is its own queries and its own corpus (a case of
    another fold would carry codes its coder learned from), relevance judged within the part."""
    parts = []
    for k in range(folds):
        ids = [q for q in corpus.queries if fold_of(q, folds) == k]
        parts.append(_subset(corpus, ids))
    return parts


def _subset(corpus: Corpus, ids: list[str]) -> Corpus:
    keep = set(ids)
    sub = Corpus({q: corpus.queries[q] for q in ids}, [(c, t) for c, t in corpus.chunks if c in keep],
                 {q: corpus.categories[q] for q in ids}, chunk_language=corpus.chunk_language)
    for q in ids:
        sims = {d: jaccard(corpus.categories[q], corpus.categories[d]) for d in ids if d != q}
        sub.graded[q] = {d: v for d, v in sims.items() if v > 0}
        sub.relevant[q] = {d: v for d, v in sims.items() if v >= JACCARD_MIN}
    return sub


def evaluate_coded(folds: list[tuple[Corpus, Coded]], embedder: Embedder | None,
                   methods: Sequence[str] = METHODS, fold_embedders: Sequence[Embedder] | None = None,
                   pooled_out: dict[str, dict[str, dict[str, float]]] | None = None) -> dict[str, Any]:
    """Every method, channel and concept weight on (part, its codes) pairs, per-query values pooled over parts;
    the paired difference Casewise minus its best single channel; a concept weight chosen per fold on the others.
    `fold_embedders` (one per fold, e.g. each adapted on the other folds) replace `embedder`; `pooled_out` receives
    the pooled per-query values."""
    pooled: dict[str, dict[str, dict[str, float]]] = {} if pooled_out is None else pooled_out
    fold_ndcg: list[dict[str, dict[str, float]]] = []
    for k, (part, coded) in enumerate(folds):
        emb = fold_embedders[k] if fold_embedders else embedder
        values = {m: per_query(part, r) for m, r in rank_all(part, emb, methods, coded).items()}
        fold_ndcg.append({m: v["ndcg@10"] for m, v in values.items()})
        for m, v in values.items():
            for metric, qv in v.items():
                pooled.setdefault(m, {}).setdefault(metric, {}).update(qv)
    if len(folds) > 1 and "casewise" in pooled:
        # nested choice: fold k uses the weight whose nDCG@10 was best on the other folds' held-out queries
        chosen: dict[str, dict[str, float]] = {}
        picks = []
        for k in range(len(folds)):
            def other(m: str, k: int = k) -> float:
                return _mean_se([v for j, f in enumerate(fold_ndcg) if j != k for v in f.get(m, {}).values()])[0]
            name = max(["casewise"] + [f"casewise@{w:g}" for w in CONCEPT_WEIGHTS if w], key=other)
            picks.append(0.0 if name == "casewise" else float(name.split("@")[1]))
            src = pooled[name]
            for metric, qv in src.items():
                chosen.setdefault(metric, {}).update({q: qv[q] for q in folds[k][0].queries if q in qv})
        pooled["casewise@cv"] = chosen
    results: dict[str, Any] = {m: summarise(v) for m, v in pooled.items()}
    if "casewise@cv" in results:
        results["casewise@cv"]["weights_chosen"] = picks
    channels = [c for c in CHANNELS if c in pooled]
    if "casewise" in pooled and channels:
        best = max(channels, key=lambda c: results[c]["ndcg@10"])
        for m in [m for m in pooled if m.startswith("casewise") and "[" not in m]:
            d, se = paired(pooled[m]["ndcg@10"], pooled[best]["ndcg@10"])
            results[m]["minus_best_channel"] = {"channel": best, "ndcg@10": d, "se": se}
    return results


def _format(lang: str, model: str, results: dict[str, Any]) -> str:
    lines = [f"CodiEsp retrieval, {lang}, dense model {model}",
             f"{'method':<30} {'nDCG@10':>14} {'recall@10':>14} {'MRR':>14} {'graded nDCG@10':>16}"]
    def cell(r: dict[str, Any], k: str) -> str:
        return f"{r[k]:.3f} ±{r[k + '_se']:.3f}"

    for m, r in results.items():
        lines.append(f"{m:<30} {cell(r, 'ndcg@10'):>14} {cell(r, 'recall@10'):>14} {cell(r, 'mrr'):>14} {cell(r, 'graded_ndcg@10'):>16}")
    others = {m: r["ndcg@10"] for m, r in results.items() if not m.startswith("casewise")}
    if "casewise" in results and others:
        best = max(others, key=lambda m: others[m])
        gain = results["casewise"]["ndcg@10"] / others[best] - 1 if others[best] else 0.0
        lines.append(f"casewise against the best other method ({best}): {gain:+.1%} nDCG@10")
    for m, r in results.items():
        if "minus_best_channel" in r:
            d = r["minus_best_channel"]
            lines.append(f"{m} minus its best single channel ({d['channel']}): {d['ndcg@10']:+.3f} ±{d['se']:.3f} nDCG@10"
                         " (paired over queries)")
    if "weights_chosen" in results.get("casewise@cv", {}):
        lines.append(f"casewise@cv: concept weight per fold chosen on the other folds: {results['casewise@cv']['weights_chosen']}")
    any_r: dict[str, Any] = next(iter(results.values()), {})
    lines.append(f"queries with a relevant case: {any_r.get('n_queries', 0)}; graded: {any_r.get('n_graded_queries', 0)}")
    return "\n".join(lines)


def adapt_per_fold(args: argparse.Namespace, pairs: list[tuple[Corpus, Coded]], methods: Sequence[str],
                   before: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Adapt the embedder once per fold on the other folds' notes only (pairs from an evaluated note are refused),
    evaluate each fold with its own, and compare with `before` query by query."""
    import tempfile

    from casewise.embedding.factory import build_embedder
    from casewise.settings import EmbeddingSettings
    from indexing.adapt_embedder import adapt_embedder, mine_pairs
    from indexing.coding.codiesp import read_folders

    notes = read_folders([args.codiesp])
    root = args.adapt_dir or Path(tempfile.mkdtemp(prefix="casewise-adapt-"))
    embedders: list[Embedder] = []
    reports = []
    for k, (part, _) in enumerate(pairs):
        held = frozenset(part.queries)
        train = mine_pairs(notes, exclude=held, max_pairs=args.adapt_pairs)
        def progress(msg: str, k: int = k) -> None:
            print(f"fold {k} adapt: {msg}", file=sys.stderr)

        rep = adapt_embedder(train, root / f"fold{k}", base=args.adapt_base, evaluated=held, progress=progress)
        print(f"fold {k}: {rep.summary()}", file=sys.stderr)
        reports.append({"fold": k, "pairs": rep.pairs_by_kind, "steps": rep.steps, "seconds": round(rep.seconds, 1),
                        "loss": [round(rep.first_loss, 3), round(rep.last_loss, 3)]})
        t0 = time.perf_counter()
        embedders.append(build_embedder(EmbeddingSettings(model=str(root / f"fold{k}"))))
        print(f"fold {k}: adapted model served through embedding.model ({type(embedders[-1]).__name__}, "
              f"{time.perf_counter() - t0:.0f} s to load/export)", file=sys.stderr)
    after: dict[str, dict[str, dict[str, float]]] = {}
    results = evaluate_coded(pairs, None, methods, fold_embedders=embedders, pooled_out=after)
    diffs = {}
    for m in ("dense", "casewise", "casewise@cv", "casewise[dense]"):
        if m in after and m in before:
            d, se = paired(after[m]["ndcg@10"], before[m]["ndcg@10"])
            g, gse = paired(after[m]["graded_ndcg@10"], before[m]["graded_ndcg@10"])
            diffs[m] = {"ndcg@10": d, "se": se, "graded_ndcg@10": g, "graded_se": gse}
    return {"results": results, "after_minus_before": diffs, "folds": reports,
            "protocol": f"{args.adapt_base} fine-tuned per fold on {args.adapt_pairs} pairs mined from the other folds "
                        "(indexing.adapt_embedder), models in " + str(root)}


def main(argv: list[str] | None = None) -> int:
    """CLI entry (also `casewise eval retrieval`)."""
    ap = argparse.ArgumentParser(prog="casewise eval retrieval", description=__doc__.splitlines()[0])
    ap.add_argument("--codiesp", type=Path, required=True, help="CodiEsp-format folder (text_files/, text_files_en/, *D.tsv)")
    ap.add_argument("--lang", default="es", choices=sorted(LANGS))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="first N cases only")
    ap.add_argument("--model", default=None, help="embedding.model (default: settings)")
    ap.add_argument("--backend", default=None, help="embedding.backend: auto, onnx, sentence-transformers")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}")
    ap.add_argument("--cache", type=Path, default=None, help="folder for cached vectors (reruns skip encoding)")
    ap.add_argument("--report", type=Path, default=None, help="also write an HTML/JSON/Markdown report run there")
    ap.add_argument("--train", type=Path, default=None,
                    help="CodiEsp-format folder to learn the ICD-10 coder on (queries and cases get predicted codes)")
    ap.add_argument("--folds", type=int, default=None,
                    help="cross-validate within --codiesp: K folds by sha1(doc id); each fold's coder learns on the others")
    ap.add_argument("--adapt-embedder", action="store_true",
                    help="with --folds: also adapt the embedder per fold on the other folds' notes (indexing.adapt_embedder)"
                         " and report before (--model) and after")
    ap.add_argument("--adapt-base", default="bundled:multilingual-e5-small", help="the embedder adapted")
    ap.add_argument("--adapt-pairs", type=int, default=384, help="training pairs per fold")
    ap.add_argument("--adapt-dir", type=Path, default=None, help="keep each fold's adapted model here (default: temporary)")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s) {bad}; valid: {list(METHODS)}")
    corpus = load_codiesp(args.codiesp, args.lang, args.limit)
    embedder: Embedder | None = None
    if set(methods) - {"bm25"}:
        from casewise.embedding.factory import get_embedder
        from casewise.settings import EmbeddingSettings

        es = EmbeddingSettings()
        if args.model:
            es = es.model_copy(update={"model": args.model})
        if args.backend:
            es = es.model_copy(update={"backend": args.backend}) if "backend" in EmbeddingSettings.model_fields else es
            if "backend" not in EmbeddingSettings.model_fields:
                object.__setattr__(es, "backend", args.backend)
        embedder = cached(get_embedder(es), args.cache)
    protocol = None
    if args.train and args.folds:
        ap.error("--train and --folds are alternatives: learn on another folder, or cross-validate within one")
    if args.folds is not None and args.folds < 2:
        ap.error("--folds must be at least 2")
    if args.adapt_embedder and not args.folds:
        ap.error("--adapt-embedder needs --folds K (each fold's embedder learns on the other folds)")
    adapted: dict[str, Any] | None = None
    if args.train:
        coder, seen = learn_coder(args.train, args.lang)
        leaked = seen & set(corpus.queries)
        if leaked:
            raise SystemExit(f"--train and --codiesp share {len(leaked)} notes; the coder must not see evaluated notes")
        results = evaluate_coded([(corpus, predict_codes(corpus, coder, seen, args.lang))], embedder, methods)
        protocol = f"coder learned on {args.train} ({len(seen)} notes), evaluated on {args.codiesp}"
    elif args.folds:
        pairs = []
        for k, part in enumerate(split_folds(corpus, args.folds)):
            coder, seen = learn_coder(args.codiesp, args.lang, exclude=frozenset(part.queries))
            pairs.append((part, predict_codes(part, coder, seen, args.lang)))
            print(f"fold {k}: {len(part.queries)} cases, coder learned on {len(seen)} notes", file=sys.stderr)
        before: dict[str, dict[str, dict[str, float]]] = {}
        results = evaluate_coded(pairs, embedder, methods, pooled_out=before)
        protocol = (f"{args.folds}-fold cross-validation within {args.codiesp}: fold = int(sha1(doc id)[:8], 16) mod "
                    f"{args.folds}; each fold is queries and corpus, its coder learned on the other folds only; "
                    "per-query values pooled over folds")
        if args.adapt_embedder:
            adapted = adapt_per_fold(args, pairs, methods, before)
            protocol += f"; adapted embedder: {adapted['protocol']}"
    else:
        results = evaluate(corpus, embedder, methods)
    model = embedder.name if embedder else "-"
    payload = {"lang": args.lang, "model": model, "cases": len(corpus.queries), "chunks": len(corpus.chunks),
               "results": results, **({"protocol": protocol} if protocol else {}),
               **({"adapted": adapted} if adapted else {})}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(_format(args.lang, model, results))
        if adapted:
            print()
            print(_format(args.lang, f"{args.adapt_base} adapted per fold", adapted["results"]))
            for m, d in adapted["after_minus_before"].items():
                print(f"{m}: adapted minus before {d['ndcg@10']:+.3f} ±{d['se']:.3f} nDCG@10, graded "
                      f"{d['graded_ndcg@10']:+.3f} ±{d['graded_se']:.3f} (paired over queries)")
        if protocol:
            print(protocol)
    if args.report:
        from eval.report.public_sets import write_retrieval_report

        print(f"report: {write_retrieval_report(payload, args.report) / 'report.html'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
