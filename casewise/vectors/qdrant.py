"""The vector index on qdrant-client: a Qdrant server or cluster by URL, or qdrant-client's local mode (a folder).

`make_client` is the only place that knows which; `QdrantIndex` implements `casewise.vectors.VectorIndex`.
"""

from __future__ import annotations

import shutil
import ssl
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from casewise.errors import ConfigError, IndexUnavailableError
from casewise.settings import IndexSettings, Settings
from casewise.types import Chunk
from casewise.vectors import DATETIME_FIELDS, DENSE, KEYWORD_FIELDS, SPARSE, VectorIndex, chunk_payload, point_id

PAYLOAD_INDEXES: dict[str, models.PayloadSchemaType] = {
    **{f: models.PayloadSchemaType.KEYWORD for f in KEYWORD_FIELDS},
    **{f: models.PayloadSchemaType.DATETIME for f in DATETIME_FIELDS},
}


LAYOUT_ATTR = "_casewise_collection_kwargs"  # set by make_client on the clients it builds, read by QdrantIndex


def client_kwargs(idx: IndexSettings) -> dict[str, Any]:
    """QdrantClient arguments for a server or cluster: URL, API key, TLS, gRPC, timeout (pure: testable without a server)."""
    kwargs: dict[str, Any] = {
        "url": idx.url,
        "api_key": idx.api_key.get_secret_value() if idx.api_key else None,
        "timeout": max(1, round(idx.timeout_s)),
        "prefer_grpc": idx.prefer_grpc,
        "grpc_port": idx.grpc_port,
    }
    if (idx.url or "").startswith("https://"):
        kwargs["https"] = True
        if not idx.tls_verify:
            kwargs["verify"] = False  # httpx, for REST; a self-signed test server only
        elif idx.tls_ca_file:
            if not idx.tls_ca_file.is_file():
                raise ConfigError(f"index.tls_ca_file: no CA bundle at {idx.tls_ca_file}")
            kwargs["verify"] = ssl.create_default_context(cafile=str(idx.tls_ca_file))
    return kwargs


def collection_kwargs(idx: IndexSettings, dim: int) -> dict[str, Any]:
    """create_collection arguments: vectors, sparse vectors and the cluster layout of a new physical collection."""
    kwargs: dict[str, Any] = {
        "vectors_config": {DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE,
                                                      on_disk=True if idx.on_disk else None)},
        "sparse_vectors_config": {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    }
    for name in ("shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload"):
        value = getattr(idx, name)
        if value is not None:
            kwargs[name] = value
    if idx.quantization == "int8":
        kwargs["quantization_config"] = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
            type=models.ScalarType.INT8, quantile=idx.quantization_quantile, always_ram=idx.quantization_always_ram))
    return kwargs


def make_client(settings: Settings) -> QdrantClient:
    """Build the Qdrant client from Settings: embedded folder by default, server/cluster when a URL is set."""
    idx = settings.index
    try:
        if idx.backend == "server":
            client = QdrantClient(**client_kwargs(idx))
            setattr(client, LAYOUT_ATTR, idx)  # new collections get the cluster layout of these settings
            return client
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return QdrantClient(path=str(settings.qdrant_path))
    except ConfigError:
        raise
    except RuntimeError as exc:
        if "already accessed by another instance" in str(exc):
            raise IndexUnavailableError(
                f"the embedded index in {settings.qdrant_path} is open in another Casewise process "
                "(e.g. `casewise serve`); stop it, or ask the server (`casewise reindex` does), or use a Qdrant server URL"
            ) from None
        raise IndexUnavailableError(f"cannot open the vector index: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise IndexUnavailableError(f"cannot reach the vector index ({type(exc).__name__}: {exc})") from None


class QdrantIndex:
    """Chunks with dense and sparse vectors in one collection reached through `alias` (qdrant-client)."""

    def __init__(self, client: QdrantClient, alias: str, layout: IndexSettings | None = None) -> None:
        self.client = client
        self.alias = alias
        # Shards, replicas, on-disk vectors, quantization for new collections: given, or from the factory's settings.
        self.layout: IndexSettings = layout or getattr(client, LAYOUT_ATTR, None) or IndexSettings.model_validate({})

    # -- lifecycle --------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        try:
            return self.client.collection_exists(self.alias)
        except Exception as exc:  # noqa: BLE001
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
        except Exception as exc:  # noqa: BLE001
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
        return QdrantIndex(self.client, name, self.layout)

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
        self.client.create_collection(name, **collection_kwargs(self.layout, dim))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode ignores payload indexes and says so
            for field, schema in PAYLOAD_INDEXES.items():
                self.client.create_payload_index(name, field, field_schema=schema)

    def switch_alias(self, target: str) -> None:
        """Atomically point the alias at `target` (queries never see a half-built collection)."""
        ops: list[Any] = []
        try:
            current = [a for a in self.client.get_aliases().aliases if a.alias_name == self.alias]
        except Exception:  # noqa: BLE001
            current = []
        if current:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=target, alias_name=self.alias)))
        self.client.update_collection_aliases(change_aliases_operations=ops)

    # -- writes -----------------------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[tuple[list[int], list[float]]],
               content_hash: dict[str, str], embedder: str = "") -> list[str]:
        """Write chunks; returns their point ids (deterministic from document hash and position)."""
        points = []
        ids = []
        for chunk, vec, (sidx, sval) in zip(chunks, dense, sparse, strict=True):
            pid = point_id(chunk.doc_id, content_hash[chunk.doc_id], chunk.position)
            ids.append(pid)
            payload = chunk_payload(chunk, pid, embedder)
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
            points, offset = self.client.scroll(self.alias, limit=min(limit, 1000), offset=offset, with_payload=True,
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
