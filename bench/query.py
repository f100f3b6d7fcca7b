"""Similar-case query latency in the embedded index, against a raw top-k on the same index and the numpy floor.

    python -m bench.query [--sizes 20000,100000] [--queries 50] [--engines local,edge] [--dim 768]

Synthetic chunks: 768-d vectors (`--dim`) clustered by case (20 chunks per case around a case centre), payloads shaped like
the real ones (case/doc ids, sex, age band, diagnoses, treatments, language, date, ~300 characters of text) and
BM25-style sparse vectors over a Zipf vocabulary. For each engine and size it prints p50/p95 of
  (a) the full similar-case query: payload filter (10 % selective, on diagnosis) + dense and sparse sub-searches
      fused with RRF + grouping by case + cosine lookup: Casewise's own CaseRetriever over each backend,
  (b) a raw dense top-10 on the same index, unfiltered,
  (c) numpy brute force (matrix x vector + argpartition) over the same vectors: the floor,
as ratios (a)/(b) and (a)/(c), plus the resident memory the index added. Vectors are random, so this measures
speed, not quality.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

DIM = 768  # the default embedder's vectors (bundled:minilm+e5); --dim 384 for a single small model
CHUNKS_PER_CASE = 20
DIAGNOSES = ["knee_oa", "hip_oa", "rotator_cuff", "lateral_epicondylitis", "plantar_fasciitis", "achilles_tendinopathy",
             "patellar_tendinopathy", "low_back_pain", "meniscus_tear", "shoulder_oa"]
TREATMENTS = ["prp", "hyaluronic_acid", "corticosteroid", "bmac", "physiotherapy", "shockwave", "ozone"]
AGE_BANDS = [f"{a}-{a + 9}" for a in range(20, 90, 10)]
VOCAB = 20_000


@dataclass
class Data:
    vecs: np.ndarray                     # (n, DIM) float32, unit length
    payloads: list[dict[str, Any]]
    sparse: list[tuple[list[int], list[float]]]
    queries: np.ndarray                  # (q, DIM)
    qsparse: list[tuple[list[int], list[float]]]


def make_data(n: int, n_queries: int, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    n_cases = max(n // CHUNKS_PER_CASE, 1)
    centres = rng.standard_normal((n_cases, DIM)).astype(np.float32)
    case_of = rng.integers(0, n_cases, n)
    vecs = centres[case_of] + 0.8 * rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    zipf = np.minimum(rng.zipf(1.3, (n, 24)), VOCAB - 1)
    case_diag = rng.integers(0, len(DIAGNOSES), n_cases)
    payloads, sparse = [], []
    for i in range(n):
        c = int(case_of[i])
        idx = sorted({int(t) for t in zipf[i]})
        sparse.append((idx, [1.0] * len(idx)))
        payloads.append({
            "case_id": f"C{c:06d}", "doc_id": f"D{c:06d}-{i % 3}", "chunk_id": f"P{i:07d}", "position": i % 7,
            "text": "Paciente con dolor y limitación funcional; se indica tratamiento y seguimiento. " * 4,
            "section": "nota", "language": "es" if c % 3 else "en", "sex": "F" if c % 2 else "M",
            "age_band": AGE_BANDS[c % len(AGE_BANDS)], "diagnoses": [DIAGNOSES[int(case_diag[c])]],
            "treatments": [TREATMENTS[c % len(TREATMENTS)]], "date": f"20{15 + c % 10}-0{1 + c % 9}-15",
        })
    qc = rng.integers(0, n_cases, n_queries)
    queries = centres[qc] + 0.8 * rng.standard_normal((n_queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    qterms = [sorted({int(t) for t in np.minimum(rng.zipf(1.3, 8), VOCAB - 1)}) for _ in qc]
    qsparse = [(t, [1.0] * len(t)) for t in qterms]
    return Data(vecs, payloads, sparse, queries, qsparse)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timeit(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """p50, p95 in milliseconds over n calls (after two warm-up calls)."""
    fn(0)
    fn(1 % n)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def numpy_floor(d: Data) -> Callable[[int], object]:
    m = d.vecs

    def q(i: int) -> object:
        s = m @ d.queries[i]
        top = np.argpartition(-s, 10)[:10]
        return top[np.argsort(-s[top])]

    return q


# -- qdrant-client local mode through Casewise's own retriever ------------------------------------------------------
class _FixedEmbedder:
    name, dim, identity = "fixed", DIM, "fixed"

    def __init__(self, d: Data) -> None:
        self.d = d
        self.i = 0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.d.queries[self.i:self.i + 1]

    def embed_passages(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - not used
        raise NotImplementedError


class _NoCases:
    def get_cases(self, ids: list[str]) -> dict[str, Any]:
        return {}


def local_engine(d: Data) -> tuple[Callable[[int], object], Callable[[int], object]]:
    """(full similar-case query via CaseRetriever, raw top-10) on qdrant-client local mode (in memory)."""
    from qdrant_client import QdrantClient, models

    from casewise.settings import Settings
    from casewise.types import Filters
    from casewise.vectors import DENSE
    from casewise.vectors.qdrant import QdrantIndex
    from retrieval import search
    from retrieval.search import CaseRetriever

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = QdrantClient(":memory:")
        index = QdrantIndex(client, "bench")
        index.ensure(DIM)
        points = [models.PointStruct(id=i, vector={DENSE: d.vecs[i].tolist(),
                                                   "sparse": models.SparseVector(indices=d.sparse[i][0], values=d.sparse[i][1])},
                                     payload=d.payloads[i]) for i in range(len(d.payloads))]
        for s in range(0, len(points), 1024):
            client.upsert("bench", points=points[s:s + 1024], wait=True)
    emb = _FixedEmbedder(d)
    retr = CaseRetriever(Settings(), _NoCases(), index, emb)  # type: ignore[arg-type]

    def fixed_sparse(text: str, *, query: bool = False) -> tuple[list[int], list[float]]:
        return d.qsparse[emb.i]

    search.sparse_vector = fixed_sparse  # type: ignore[assignment]  # the synthetic query's terms
    flt = Filters(diagnoses=[DIAGNOSES[0]])  # "knee_oa": a vocabulary id, ~10 % of the chunks

    def full(i: int) -> object:
        emb.i = i
        return retr.similar("rodilla", filters=flt, k=8)

    def raw(i: int) -> object:
        return index.dense_search(d.queries[i], flt=None, limit=10)

    return full, raw


# -- Qdrant Edge (native engine, in process) ------------------------------------------------------------------------
def edge_engine(d: Data, exact: bool) -> tuple[Callable[[int], object], Callable[[int], object]]:
    """(full similar-case query via CaseRetriever over Casewise's EdgeIndex, raw top-10) on Qdrant Edge."""
    from pathlib import Path

    import qdrant_edge as qe

    from casewise.settings import Settings
    from casewise.types import Filters
    from casewise.vectors.edge import EdgeIndex
    from retrieval import search
    from retrieval.search import CaseRetriever

    index = EdgeIndex(Path(tempfile.mkdtemp(prefix="casewise-edge-")), "bench")
    index.ensure(DIM)
    shard = index._shard()  # bulk load with the synthetic integer ids
    for s in range(0, len(d.payloads), 2048):
        pts = [qe.Point(i, {"dense": d.vecs[i].tolist(), "sparse": qe.SparseVector(*d.sparse[i])}, d.payloads[i])
               for i in range(s, min(s + 2048, len(d.payloads)))]
        shard.update(qe.UpdateOperation.upsert_points(pts))
    if not exact:  # only HNSW needs the optimizer to build its graph
        shard.optimize()
    params = qe.SearchParams(exact=exact, hnsw_ef=None if exact else 256)
    emb = _FixedEmbedder(d)
    retr = CaseRetriever(Settings(), _NoCases(), index, emb)  # type: ignore[arg-type]

    def fixed_sparse(text: str, *, query: bool = False) -> tuple[list[int], list[float]]:
        return d.qsparse[emb.i]

    search.sparse_vector = fixed_sparse  # type: ignore[assignment]  # the synthetic query's terms
    flt = Filters(diagnoses=[DIAGNOSES[0]])

    def full(i: int) -> object:
        emb.i = i
        return retr.similar("rodilla", filters=flt, k=8)

    def raw(i: int) -> object:
        return shard.query(qe.QueryRequest(limit=10, query=qe.Query.Nearest(d.queries[i].tolist(), using="dense"),
                                           params=params))

    return full, raw


def set_dim(dim: int) -> None:
    global DIM
    DIM = dim


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--dim", type=int, default=DIM, help=f"vector size (default {DIM}, the default embedder's)")
    ap.add_argument("--engines", default="local,edge", help="local (qdrant-client local mode), edge, edge-hnsw")
    args = ap.parse_args(argv)
    set_dim(args.dim)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    print(f"{'engine':<10} {'chunks':>7} {'full p50':>9} {'full p95':>9} {'raw p50':>8} {'numpy p50':>9} "
          f"{'p95/raw':>8} {'p95/numpy':>9} {'build s':>8} {'+RSS MB':>8}")
    for n in [int(s) for s in args.sizes.split(",")]:
        d = make_data(n, args.queries)
        floor_p50, _ = timeit(numpy_floor(d), args.queries)
        for eng in engines:
            gc.collect()
            before, t0 = rss_mb(), time.perf_counter()
            if eng == "local":
                full, raw = local_engine(d)
            elif eng in ("edge", "edge-hnsw"):
                full, raw = edge_engine(d, exact=(eng == "edge"))
            else:
                ap.error(f"unknown engine {eng!r}; valid: local, edge, edge-hnsw")
            build = time.perf_counter() - t0
            grown = rss_mb() - before
            f50, f95 = timeit(full, args.queries)
            r50, _ = timeit(raw, args.queries)
            print(f"{eng:<10} {n:>7} {f50:>8.1f}ms {f95:>8.1f}ms {r50:>7.1f}ms {floor_p50:>8.1f}ms "
                  f"{f95 / max(r50, 1e-9):>8.1f} {f95 / max(floor_p50, 1e-9):>9.1f} {build:>8.1f} {grown:>8.0f}")
            del full, raw
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
