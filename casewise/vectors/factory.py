"""Builds the vector index Settings ask for (the protocol and shared helpers are in `casewise.vectors`)."""

from __future__ import annotations

from casewise.settings import Settings
from casewise.vectors import VectorIndex


def make_index(settings: Settings) -> VectorIndex:
    """The index Settings ask for: Qdrant Edge (embedded default), qdrant-client local mode, or a server by URL."""
    if settings.index.backend == "edge":
        from casewise.vectors.edge import EdgeIndex

        return EdgeIndex(settings.qdrant_path, settings.index.collection)
    from casewise.vectors.qdrant import QdrantIndex, make_client

    return QdrantIndex(make_client(settings), settings.index.collection)
