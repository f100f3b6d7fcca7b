"""The vector index on qdrant-client: a Qdrant server or cluster by URL, or qdrant-client's local mode (a folder).

`make_client` is the only place that knows which; `QdrantIndex` implements `casewise.vectors.VectorIndex`.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from casewise.errors import IndexUnavailableError
from casewise.settings import Settings
from casewise.types import Chunk
from casewise.vectors import DATETIME_FIELDS, DENSE, KEYWORD_FIELDS, SPARSE, VectorIndex, chunk_payload, point_id

PAYLOAD_INDEXES: dict[str, models.PayloadSchemaType] = {
    **{f: models.PayloadSchemaType.KEYWORD for f in KEYWORD_FIELDS},
    **{f: models.PayloadSchemaType.DATETIME for f in DATETIME_FIELDS},
}


def make_client(settings: Settings) -> QdrantClient:
    """Build the Qdrant client from Settings: embedded folder by default, server/cluster when a URL is set."""
    idx = settings.index
    try:
        if idx.backend == "server":
            return QdrantClient(
                url=idx.url, api_key=idx.api_key.get_secret_value() if idx.api_key else None, timeout=int(idx.timeout_s)
            )
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return QdrantClient(path=str(settings.qdrant_path))
    except RuntimeError as exc:
        if "already accessed by another instance" in str(exc):
            raise IndexUnavailableError(
                f"the embedded index in {settings.qdrant_path} is open in another Casewise process "
                "(e.g. `casewise serve`); stop it, or ask the server (`casewise reindex` does), or use a Qdrant server URL"
            ) from None
        raise IndexUnavailableError(f"cannot open the vector index: {exc}") from None
    except Exception as exc:
        raise IndexUnavailableError(f"cannot reach the vector index ({type(exc).__name__}: {exc})") from None


class QdrantIndex:
    """Chunks with dense and sparse vectors in one collection reached through `alias` (qdrant-client)."""

    def __init__(self, client: QdrantClient, alias: str) -> None:
        self.client = client
        self.alias = alias

    # -- lifecycle --------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        try:
            return self.client.collection_exists(self.alias)
        except Exception as exc:
            raise IndexUnavailableError(f"cannot reach the vector index ({type(exc).__name__}: {exc})") from None

    def ensure(self, dim: int) -> None:
        """Create the first physical collection and point the alias at it, if there is none yet."""
        if self.exists():
            return
        self.create_physical(f"{self.alias}_v1", dim)
        self.switch_alias(f"{self.alias}_v1")

    def target(self) -> str | None:
        """The physical collection the alias points at (None before the first index)."""
        try:
            for a in self.client.get_aliases().aliases:
                if a.alias_name == self.alias:
                    return str(a.collection_name)
        except Exception as exc:
            raise IndexUnavailableError(f"cannot reach the vector index ({type(exc).__name__}: {exc})") from None
        return None

    def physical_names(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections if c.name.startswith(f"{self.alias}_v"))

    def drop_physical(self, name: str) -> None:
        if name == self.target():
            raise ValueError(f"refusing to drop {name}: the alias {self.alias} points at it")
        self.client.delete_collection(name)

    def bound(self, name: str) -> VectorIndex:
        """The same operations on one physical collection (a rebuild writes there before the alias switch)."""
        return QdrantIndex(self.client, name)

    def flush(self) -> None:
        """Writes are acknowledged with wait=True: nothing to do."""

    def close(self) -> None:
        self.client.close()

    def copy_to(self, dest: Path) -> bool:
        """Local mode: copy its folder (its writes are synchronous). A server: False, use Qdrant's snapshot API."""
        location = getattr(getattr(self.client, "_client", None), "location", None)
        if not location or location == ":memory:":
            return False
        shutil.copytree(location, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".lock"))
        return True

    def create_physical(self, name: str, dim: int) -> None:
        self.client.create_collection(
            name,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode ignores payload indexes and says so
            for field, schema in PAYLOAD_INDEXES.items():
                self.client.create_payload_index(name, field, field_schema=schema)

    def switch_alias(self, target: str) -> None:
        """Atomically point the alias at `target` (queries never see a half-built collection)."""
        ops: list[Any] = []
        try:
            current = [a for a in self.client.get_aliases().aliases if a.alias_name == self.alias]
        except Exception:
            current = []
        if current:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=target, alias_name=self.alias)))
        self.client.update_collection_aliases(change_aliases_operations=ops)

    # -- writes -----------------------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[tuple[list[int], list[float]]],
               content_hash: dict[str, str]) -> list[str]:
        """Write chunks; returns their point ids (deterministic from document hash and position)."""
        points = []
        ids = []
        for chunk, vec, (sidx, sval) in zip(chunks, dense, sparse, strict=True):
            pid = point_id(chunk.doc_id, content_hash[chunk.doc_id], chunk.position)
            ids.append(pid)
            payload = chunk_payload(chunk, pid)
            points.append(
                models.PointStruct(
                    id=pid,
                    vector={DENSE: vec.tolist(), SPARSE: models.SparseVector(indices=sidx, values=sval)},
                    payload=payload,
                )
            )
        for start in range(0, len(points), 256):
            self.client.upsert(self.alias, points=points[start:start + 256], wait=True)
        return ids

    def delete_points(self, ids: Sequence[str]) -> None:
        if ids:
            self.client.delete(self.alias, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def delete_doc(self, doc_id: str) -> None:
        """Remove every point of a document, including any left by an interrupted earlier run."""
        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))])
        self.client.delete(self.alias, points_selector=models.FilterSelector(filter=flt), wait=True)

    def set_case_payload_by_case(self, case_id: str, payload: dict[str, Any]) -> None:
        """Copy case-level facts (sex, age band, diagnoses, treatments) onto every chunk of the case, for filters."""
        flt = models.Filter(must=[models.FieldCondition(key="case_id", match=models.MatchValue(value=case_id))])
        self.client.set_payload(self.alias, payload=payload, points=models.FilterSelector(filter=flt), wait=True)

    # -- reads ------------------------------------------------------------------------------------------------
    def count(self) -> int:
        if not self.exists():
            return 0
        return self.client.count(self.alias, exact=True).count

    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        offset = None
        while True:
            points, offset = self.client.scroll(self.alias, limit=1000, offset=offset, with_payload=True,
                                                with_vectors=False)
            out.extend((str(p.id), p.payload or {}) for p in points)
            if offset is None or len(out) >= limit:
                return out

    def dense_scores(self, dense: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine of the query to given points (for similarity floors and explanations)."""
        if not ids:
            return {}
        pts = self.client.retrieve(self.alias, ids=list(ids), with_vectors=[DENSE], with_payload=False)
        out: dict[str, float] = {}
        for p in pts:
            vec = p.vector[DENSE] if isinstance(p.vector, dict) else p.vector
            out[str(p.id)] = float(np.dot(np.asarray(vec, dtype=np.float32), dense))
        return out

    def sparse_search(self, sparse: tuple[list[int], list[float]], *, flt: models.Filter | None,
                      limit: int) -> list[models.ScoredPoint]:
        res = self.client.query_points(self.alias, query=models.SparseVector(indices=sparse[0], values=sparse[1]),
                                       using=SPARSE, query_filter=flt, limit=limit, with_payload=True)
        return list(res.points)

    def dense_search(self, dense: np.ndarray, *, flt: models.Filter | None, limit: int) -> list[models.ScoredPoint]:
        res = self.client.query_points(self.alias, query=dense.tolist(), using=DENSE, query_filter=flt, limit=limit,
                                       with_payload=True)
        return list(res.points)
