"""The vector index: chunks with a dense and a sparse vector, reached through an alias.

One protocol, two implementations chosen by Settings (`index.backend`):
- `edge` (default): Qdrant Edge, Qdrant's native engine in process, a folder in the data dir
  (measured: bench/query.py; ~40x faster upserts and ~10x faster queries than qdrant-client's local mode at 100k points);
- `local`: qdrant-client's local mode (pure Python; kept for comparison and small test indexes);
- `server`: a Qdrant server or cluster by URL (production, scale-out).
This module holds the protocol and the helpers every backend shares; `factory.make_index` builds the configured one.
Everything else talks to `VectorIndex` and builds filters with qdrant-client's `models.Filter`; the Edge backend
translates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from qdrant_client import models

from casewise.types import Chunk

DENSE = "dense"
SPARSE = "sparse"
POINT_NAMESPACE = uuid.UUID("8f6d3c1e-4b7a-5e55-9a8e-0c45e3a1d0b2")
KEYWORD_FIELDS = ("case_id", "doc_id", "diagnoses", "treatments", "codes", "sex", "age_band", "language")
DATETIME_FIELDS = ("date",)
EMBEDDER_FIELD = "embedder"  # every point records the identity of the model that wrote its dense vector


def point_id(doc_id: str, content_hash: str, position: int) -> str:
    """Deterministic id: re-indexing the same content writes the same points, so a re-run never duplicates."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}:{content_hash}:{position}"))


def chunk_payload(chunk: Chunk, pid: str, embedder: str = "") -> dict[str, Any]:
    payload = chunk.model_dump(mode="json", exclude={"chunk_id"})
    payload["chunk_id"] = pid
    if embedder:
        payload[EMBEDDER_FIELD] = embedder
    return payload


class VectorIndex(Protocol):
    """Chunks with dense and sparse vectors in one physical collection reached through `alias`.

    Writes and reads go through the alias; a full rebuild fills another physical collection (`bound(name)`)
    and then `switch_alias` points queries at it in one step.
    """

    alias: str

    # lifecycle
    def exists(self) -> bool: ...
    def ensure(self, dim: int) -> None: ...
    def create_physical(self, name: str, dim: int) -> None: ...
    def switch_alias(self, target: str) -> None: ...
    def target(self) -> str | None: ...
    def physical_names(self) -> list[str]: ...
    def drop_physical(self, name: str) -> None: ...
    def bound(self, name: str) -> VectorIndex: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def copy_to(self, dest: Path) -> bool:
        """Copy the live collection's files (consistent: no write runs meanwhile); False where the engine is remote."""
        ...

    # writes
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[tuple[list[int], list[float]]],
               content_hash: dict[str, str], embedder: str = "") -> list[str]: ...
    def delete_points(self, ids: Sequence[str]) -> None: ...
    def delete_doc(self, doc_id: str) -> None: ...
    def set_case_payload_by_case(self, case_id: str, payload: dict[str, Any]) -> None: ...

    # reads
    def count(self) -> int: ...
    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]: ...
    def dense_scores(self, dense: np.ndarray, ids: Sequence[str]) -> dict[str, float]: ...
    def sparse_search(self, sparse: tuple[list[int], list[float]], *, flt: models.Filter | None,
                      limit: int) -> list[Any]: ...
    def dense_search(self, dense: np.ndarray, *, flt: models.Filter | None, limit: int) -> list[Any]: ...


def holds_other_vector_size(index: VectorIndex, dim: int) -> bool:
    """True when the live collection has vectors of another size than `dim` (built with another embedding model).

    Probed with a one-point search, since the backends do not report the size alike; their size errors differ too
    ("Vector dimension error" from Qdrant, "not aligned" from local mode).
    """
    if not index.exists() or index.count() == 0:
        return False
    probe = np.zeros(dim, dtype=np.float32)
    probe[0] = 1.0
    try:
        index.dense_search(probe, flt=None, limit=1)
    except Exception as exc:  # each backend raises its own type
        text = str(exc).lower()
        if "dimension" in text or "not aligned" in text or "dim " in text:
            return True
        raise
    return False


def stored_embedder(index: VectorIndex) -> str | None:
    """The identity recorded on the live collection's points (None: empty, or written before identities were kept)."""
    if not index.exists() or index.count() == 0:
        return None
    rows = index.all_payloads(limit=1)
    if not rows:
        return None
    return str(rows[0][1].get(EMBEDDER_FIELD) or "") or None


def holds_other_embedder(index: VectorIndex, identity: str, dim: int) -> bool:
    """True when the live collection's vectors come from another model than `identity`: of another size, or of the
    same size and another recorded identity (an adapted model, a retrained folder, a changed prefix).

    An index written before identities were recorded is judged by the vector size alone.
    """
    if holds_other_vector_size(index, dim):
        return True
    stored = stored_embedder(index)
    return stored is not None and stored != identity


def other_model_message(model: str, dim: int) -> str:
    return (f"the vector index was built with another embedding model than {model} ({dim}-dimensional vectors), "
            "or another version of it; rebuild it: casewise index FOLDERS --rebuild (the nightly job does so by itself)")


def next_physical(alias: str, existing: Sequence[str]) -> str:
    """`<alias>_v<n+1>` after the highest version present."""
    versions = [int(n.rsplit("_v", 1)[1]) for n in existing if n.startswith(f"{alias}_v") and n.rsplit("_v", 1)[1].isdigit()]
    return f"{alias}_v{max(versions, default=0) + 1}"
