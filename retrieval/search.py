"""Similar-case retrieval: hybrid dense + sparse search fused with RRF, grouped by case, re-ranked on structure."""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
from qdrant_client import models

from casewise import extract
from casewise.embedding import Embedder
from casewise.errors import IndexUnavailableError, RequestError
from casewise.general_terms import general_vocabulary
from casewise.lang import detect_language
from casewise.settings import Settings
from casewise.sparse import sparse_vector, terms, words_by_term
from casewise.store import Store
from casewise.types import Case, Code, Filters, MatchedChunk, SimilarCase, age_band
from casewise.vectors import VectorIndex, holds_other_vector_size, other_model_message, stored_embedder
from casewise.vocabulary import BUILTIN, Vocabulary, fold, load_vocabulary
from retrieval.concepts import ConceptIndex, QueryCoder, categories, overlap, shared_codes
from retrieval.filters import to_qdrant

MAX_QUERY_CHARS = 20_000
MODEL_CHECK_SECONDS = 60.0  # how often a retriever re-reads the embedder recorded in the index
RRF_K = 60.0
W_DENSE, TOP_Z = 1.0, 100  # z-score fusion: dense weight (tuned on half of CodiEsp's queries) and depth of the stats
W_SPARSE_OTHER_LANGUAGE = 0.5  # lexical evidence from a chunk in another language than the query (cognates, codes)
W_FUSED, W_COSINE, W_STRUCT = 0.5, 0.0, 2.0  # fused case rank + structure (eval.retrieval_eval, `casewise eval run`)


@dataclass
class Profile:
    """What a query says about the patient, for structured re-ranking."""

    diagnoses: list[str]
    side: str | None
    severity: str | None
    age: int | None
    sex: str | None


def profile_of(text: str, vocab: Vocabulary = BUILTIN) -> Profile:
    diags = extract.diagnoses(text)
    age = extract.age(text)
    names = [d.name for d in diags]
    if vocab is not BUILTIN:  # the clinic's own terms and diagnoses, as extraction read its notes
        names += [d for d in vocab.find_diagnoses(text) if d not in names]
    return Profile(
        diagnoses=names, side=diags[0].side if diags else None,
        severity=diags[0].severity if diags else None, age=age if isinstance(age, int) else (95 if age else None),
        sex=extract.sex(text),
    )


W_DIAGNOSIS, W_SEVERITY, W_AGE, W_SEX = 0.5, 0.3, 0.12, 0.08


def structural_similarity(p: Profile, case: Case | None) -> float:
    """0..1: shared diagnosis dominates, then severity (KL grade), age and sex. Unknown fields count as half."""
    if case is None:
        return 0.0
    names = [d.name for d in case.diagnoses]
    if p.diagnoses and not any(d in names for d in p.diagnoses):
        return 0.0
    score = W_DIAGNOSIS if p.diagnoses else 0.0
    total = W_DIAGNOSIS if p.diagnoses else 0.0
    if p.severity:
        total += W_SEVERITY
        sev = next((d.severity for d in case.diagnoses if d.severity and d.name in p.diagnoses), None)
        if sev:
            diff = abs(int(sev[-1]) - int(p.severity[-1]))
            score += W_SEVERITY * max(0.0, 1 - diff / 2)
        else:
            score += W_SEVERITY / 2
    if p.age is not None:
        total += W_AGE
        if case.age_band:
            lo = 90 if case.age_band == "90+" else int(case.age_band.split("-")[0])
            score += W_AGE * max(0.0, 1 - abs((lo + 5) - p.age) / 25)
        else:
            score += W_AGE / 2
    if p.sex:
        total += W_SEX
        score += W_SEX if case.sex == p.sex else (W_SEX / 2 if case.sex is None else 0.0)
    return score / total if total else 0.0


def _z(scores: dict[str, float], keys: list[str], floor: float) -> dict[str, float]:
    """z-scores against the mean and spread of the TOP_Z best; a case missing from the list gets `floor`."""
    top = np.sort(np.fromiter(scores.values(), dtype=np.float64, count=len(scores)))[::-1][:TOP_Z]
    if len(top) < 2:
        return {k: 0.0 for k in keys}
    mu = float(top.mean())
    sd = float(top.std()) or 1.0
    return {k: (scores.get(k, floor) - mu) / sd for k in keys}


def fuse_case_scores(sparse: dict[str, float], dense: dict[str, float], keys: list[str],
                     sparse_weight: dict[str, float] | None = None, concept: dict[str, float] | None = None,
                     concept_weight: float = 0.0) -> dict[str, float]:
    """Fuse per-case sparse and dense scores; returned as a rank score (~2 for the first case, RRF's scale).

    `sparse_weight` scales a case's lexical z-score (default 1): lexical matches across languages count less.
    `concept` (0..1 shared-category overlap per case) adds `concept_weight` x its z-score.
    """
    zs = _z(sparse, keys, min(sparse.values(), default=0.0))
    zd = _z(dense, keys, min(dense.values(), default=0.0))
    zc = _z(concept, keys, 0.0) if concept and concept_weight else {}
    sw = sparse_weight or {}
    order = sorted(keys, key=lambda k: sw.get(k, 1.0) * zs[k] + W_DENSE * zd[k] + concept_weight * zc.get(k, 0.0),
                   reverse=True)
    return {k: 2 * RRF_K / (RRF_K + r) for r, k in enumerate(order, start=1)}


class CaseRetriever:
    """Return the most similar past cases for a description or an existing case."""

    def __init__(self, settings: Settings, store: Store, index: VectorIndex, embedder: Embedder,
                 coder: QueryCoder | None = None) -> None:
        self.settings = settings
        self.coder = coder  # codes the query for the concept channel; without one only a case query has codes
        self.concepts = ConceptIndex(store)
        self.store = store
        self.index = index
        self.embedder = embedder
        self.vocab = load_vocabulary(settings.extract.vocabulary_file)  # the one extraction used on the notes
        self._filter_vocab = general_vocabulary(self.vocab)  # filters name every term extraction gives cases
        self._model_checked_at = -math.inf  # when the index's recorded embedder was last compared with ours

    def _check_model(self) -> None:
        """Refuse to rank with vectors of another model of the same size (an adapted or retrained one): their cosines
        with our query mean nothing. Read from the index once a minute (a rebuild by another process switches it)."""
        now = time.monotonic()
        if now - self._model_checked_at < MODEL_CHECK_SECONDS:
            return
        stored = stored_embedder(self.index)
        if stored is not None and stored != self.embedder.identity:
            raise IndexUnavailableError(other_model_message(self.embedder.name, self.embedder.dim))
        self._model_checked_at = now

    def similar(self, query: str, *, filters: Filters | None = None, k: int | None = None,
                exclude_case: str | None = None, query_codes: list[Code] | None = None) -> list[SimilarCase]:
        cfg = self.settings.retrieval
        query = (query or "").strip()
        if not query:
            raise RequestError("query", "is empty: describe the patient or give a case id")
        if len(query) > MAX_QUERY_CHARS:
            raise RequestError("query", f"is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
        k = k or cfg.top_cases
        if not 1 <= k <= 100:
            raise RequestError("k", "must be between 1 and 100")
        if not self.index.exists():
            return []
        flt = to_qdrant(filters, self._filter_vocab)
        self._check_model()
        qvec = self.embedder.embed_queries([query])[0]
        qsparse = sparse_vector(query, query=True)
        # Case-level fusion: each case scores as its best chunk in the dense list and in the sparse list; the two
        # case scores are z-normalised over the top candidates and summed (sparse + W_DENSE x dense), which measured
        # better than RRF of the two rankings on CodiEsp in every language (eval.retrieval_eval; held-out split).
        # A lexical match in a chunk of another language than the query's weighs W_SPARSE_OTHER_LANGUAGE.
        limit = cfg.candidates * 2
        try:
            dense_pts = self.index.dense_search(qvec, flt=flt, limit=limit)
        except Exception:
            if holds_other_vector_size(self.index, len(qvec)):
                raise IndexUnavailableError(other_model_message(self.embedder.name, len(qvec))) from None
            raise
        sparse_pts = self.index.sparse_search(qsparse, flt=flt, limit=limit) if qsparse[0] else []
        members: dict[str, dict[str, models.ScoredPoint]] = {}  # case -> {point id: point}
        best_sparse: dict[str, float] = {}
        sparse_weight: dict[str, float] = {}  # by the language of the case's best lexical chunk
        qlang = detect_language(query)
        for ranked, is_sparse in ((dense_pts, False), (sparse_pts, True)):
            for p in ranked:
                payload = p.payload or {}
                key = payload.get("case_id") or f"DOC:{payload.get('doc_id')}"
                if key == exclude_case:
                    continue
                members.setdefault(key, {}).setdefault(str(p.id), p)
                if is_sparse and float(p.score) > best_sparse.get(key, -1.0):
                    best_sparse[key] = float(p.score)
                    lang = payload.get("language")
                    sparse_weight[key] = W_SPARSE_OTHER_LANGUAGE if lang and lang != qlang else 1.0
        if not members:
            return []
        cosines = {str(p.id): float(p.score) for p in dense_pts}
        missing = [pid for pts in members.values() for pid in pts if pid not in cosines]
        cosines.update(self.index.dense_scores(qvec, missing))
        best_dense = {key: max(cosines.get(pid, 0.0) for pid in pts) for key, pts in members.items()}
        cases = self.store.get_cases([c for c in members if not c.startswith("DOC:")])
        w_concept = cfg.concept_weight.get(qlang or "", 0.0)
        if query_codes is None and self.coder is not None and w_concept:  # no coding when the channel is off
            query_codes = self.coder.code(query)
        qcats = categories(query_codes or [])
        w_concept = w_concept if qcats else 0.0
        concept: dict[str, float] = {}
        if w_concept:  # candidates only: the IDF table is rebuilt when the store changes, not per query
            idf = self.concepts.idf()
            concept = {key: overlap(qcats, cases.get(key), idf) for key in members}
        fused = fuse_case_scores(best_sparse, best_dense, list(members), sparse_weight, concept, w_concept)
        prof = profile_of(query, self.vocab)
        scored = sorted(((W_FUSED * fused[key] + W_COSINE * best_dense[key]
                          + W_STRUCT * structural_similarity(prof, cases.get(key)), key) for key in members),
                        key=lambda t: t[0], reverse=True)
        qwords = words_by_term(query)
        results: list[SimilarCase] = []
        for score, key in scored[:k]:  # chunks and explanations only for what is returned
            pts = sorted(members[key].values(), key=lambda p: cosines.get(str(p.id), 0.0),
                         reverse=True)[: cfg.max_chunks_per_case]
            chunks = [MatchedChunk(chunk_id=str(p.id), doc_id=str((p.payload or {}).get("doc_id")),
                                   text=str((p.payload or {}).get("text", "")), section=str((p.payload or {}).get("section", "")),
                                   score=round(cosines.get(str(p.id), 0.0), 4)) for p in pts]
            case = cases.get(key)
            results.append(SimilarCase(case_id=key, score=round(score, 4), similarity=round(best_dense[key], 4), case=case,
                                       chunks=chunks, why=_why(prof, case, qwords, chunks, qcats)))
        return results

    def similar_to_case(self, case_id: str, *, filters: Filters | None = None, k: int | None = None) -> list[SimilarCase]:
        case = self.store.get_case(case_id)
        if case is None:
            raise RequestError("case_id", f"no case {case_id!r} in the index")
        return self.similar(case.summary or case_id, filters=filters, k=k, exclude_case=case_id, query_codes=case.codes)


@functools.lru_cache(maxsize=8192)
def _text_terms(text: str) -> frozenset[str]:
    """A chunk's stems, memoised: the same chunks come back for many queries, and stemming is the slow part."""
    return frozenset(terms(text))


# Words of the question itself, not of the patient ("¿qué tratamientos funcionaron en pacientes similares?"), and the
# age's unit: every note has them, so as "terms" they explain nothing (ranking still sees them, weighted by IDF).
_QUESTION_WORDS = frozenset(fold(w) for w in (
    "paciente pacientes caso casos tratamiento tratamientos funciono funcionaron funciona funcionan similar similares "
    "parecido parecidos pese hizo hicieron evoluciono resultado resultados mejor año años edad "
    "patient patients case cases treatment treatments worked work works like one similar despite did done "
    "outcome outcomes best old year years aged age").split())


def _why(p: Profile, case: Case | None, qwords: dict[str, str], chunks: list[MatchedChunk],
         qcats: frozenset[str] = frozenset()) -> list[str]:
    why: list[str] = []
    if case is not None:
        shared = [d.name for d in case.diagnoses if d.name in p.diagnoses]
        if shared:
            why.append("diagnosis: " + ", ".join(shared))
        codes = shared_codes(qcats, case)
        if codes:
            why.append("codes: " + ", ".join(codes[:8]))
        sev = next((d.severity for d in case.diagnoses if d.severity), None)
        if p.severity and sev == p.severity:
            why.append(f"severity: {sev}")
        if p.sex and case.sex == p.sex:
            why.append(f"sex: {case.sex}")
        if p.age is not None and case.age_band and age_band(p.age) == case.age_band:
            why.append(f"age band: {case.age_band}")
    stems = set().union(*(qwords.keys() & _text_terms(c.text) for c in chunks))
    # The query's own words, not their stems; no bare numbers ("10" of "EVA 7/10"; the age is listed above).
    matched = sorted({w for s in stems if not (w := qwords[s]).isdigit() and fold(w) not in _QUESTION_WORDS})
    if matched:
        why.append("terms: " + ", ".join(matched[:8]))
    return why


