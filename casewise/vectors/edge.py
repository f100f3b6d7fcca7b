"""The embedded vector index on Qdrant Edge: Qdrant's own engine in process, one shard folder per physical collection.

Layout under `root` (the data dir's `edge/` folder):
    aliases.json        {"casewise_chunks": "casewise_chunks_v2"}: replaced atomically (write, fsync, rename)
    casewise_chunks_v2/ an EdgeShard (segments + WAL: a killed process loses nothing acknowledged)
    .lock               held by the one process that has the index open

Search is exact (no HNSW graph is built): at clinic scale (<= ~1M chunks) an exact scan is milliseconds-to-tens of
milliseconds and gives the same ranking as every other backend, so conformance tests compare like with like.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from casewise.errors import IndexUnavailableError
from casewise.types import Chunk
from casewise.vectors import DATETIME_FIELDS, DENSE, KEYWORD_FIELDS, SPARSE, VectorIndex, chunk_payload, point_id

ALIASES = "aliases.json"
BATCH = 1024
EXACT = qe.SearchParams(exact=True)


class _Shards:
    """State shared by an index and its `bound` views: the open shards, the process lock, one mutex."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mutex = threading.RLock()
        self.open: dict[str, qe.EdgeShard] = {}
        root.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(root / ".lock", "a+")  # noqa: SIM115 - held for the life of the index
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise IndexUnavailableError(
                f"the embedded index in {root} is open in another Casewise process (e.g. `casewise serve`); "
                "stop it, or ask the server (`casewise reindex` does), or use a Qdrant server URL") from None
        self.closed = False
        self._aliases: dict[str, str] | None = None
        # Shards with deleted points since they were opened: Qdrant Edge keeps counting deleted points in the
        # sparse IDF statistics (BM25) until the shard is loaded again, even after optimize(); flush() reloads them.
        self.deleted: set[str] = set()

    def get(self, name: str) -> qe.EdgeShard:
        shard = self.open.get(name)
        if shard is None:
            path = self.root / name
            if not path.is_dir():
                raise IndexUnavailableError(f"the vector index {name} does not exist in {self.root}")
            try:
                shard = qe.EdgeShard.load(str(path))
            except Exception as exc:  # noqa: BLE001 - any engine failure becomes IndexUnavailableError
                raise IndexUnavailableError(f"cannot open the vector index {name}: {exc}") from None
            self.open[name] = shard
        return shard

    def aliases(self) -> dict[str, str]:
        # Read once: this process holds the folder's lock, so only write_aliases (below) changes the file.
        if self._aliases is not None:
            return dict(self._aliases)
        try:
            self._aliases = dict(json.loads((self.root / ALIASES).read_text()))
            return dict(self._aliases)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise IndexUnavailableError(f"{self.root / ALIASES} is unreadable ({exc}); restore it or rebuild") from None

    def write_aliases(self, aliases: dict[str, str]) -> None:
        tmp = self.root / f".{ALIASES}.tmp"
        with open(tmp, "w") as fh:
            json.dump(aliases, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / ALIASES)
        self._aliases = dict(aliases)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        with self.mutex:
            if self.closed:
                return
            for shard in self.open.values():
                with contextlib.suppress(Exception):
                    shard.flush()
                    shard.close()
            self.open.clear()
            self.closed = True
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()


class EdgeIndex:
    """`casewise.vectors.VectorIndex` on Qdrant Edge."""

    def __init__(self, root: Path, alias: str, *, _shards: _Shards | None = None, _fixed: str | None = None) -> None:
        self.alias = alias
        self._s = _shards or _Shards(Path(root))
        self._fixed = _fixed

    # -- lifecycle --------------------------------------------------------------------------------------------
    def _name(self) -> str:
        name = self._fixed or self._s.aliases().get(self.alias)
        if name is None:
            raise IndexUnavailableError(f"nothing is indexed yet under {self.alias}")
        return name

    def _shard(self) -> qe.EdgeShard:
        if self._s.closed:
            raise IndexUnavailableError("the vector index is closed")
        return self._s.get(self._name())

    def exists(self) -> bool:
        with self._s.mutex:
            name = self._fixed or self._s.aliases().get(self.alias)
            return name is not None and (self._s.root / name).is_dir()

    def ensure(self, dim: int) -> None:
        with self._s.mutex:
            if self.exists():
                return
            name = f"{self.alias}_v1"
            self.create_physical(name, dim)
            self.switch_alias(name)

    def create_physical(self, name: str, dim: int) -> None:
        with self._s.mutex:
            path = self._s.root / name
            if path.exists():  # left by a rebuild that was cut short: never the live one
                self.drop_physical(name)
            cfg = qe.EdgeConfig(
                vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
                sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                optimizers=qe.EdgeOptimizersConfig(indexing_threshold=0),  # exact search: no HNSW graph to build
            )
            shard = qe.EdgeShard.create(str(path), cfg)
            for field in KEYWORD_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
            for field in DATETIME_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Datetime))
            shard.flush()
            self._s.open[name] = shard

    def switch_alias(self, target: str) -> None:
        """Point the alias at `target` in one atomic rename: a query sees the old collection or the new one."""
        with self._s.mutex:
            if not (self._s.root / target).is_dir():
                raise IndexUnavailableError(f"cannot switch {self.alias} to {target}: it does not exist")
            self._s.get(target).flush()
            aliases = self._s.aliases()
            aliases[self.alias] = target
            self._s.write_aliases(aliases)

    def target(self) -> str | None:
        with self._s.mutex:
            return self._s.aliases().get(self.alias)

    def physical_names(self) -> list[str]:
        return sorted(p.name for p in self._s.root.iterdir() if p.is_dir() and p.name.startswith(f"{self.alias}_v"))

    def drop_physical(self, name: str) -> None:
        with self._s.mutex:
            if name == self.target():
                raise ValueError(f"refusing to drop {name}: the alias {self.alias} points at it")
            shard = self._s.open.pop(name, None)
            if shard is not None:
                with contextlib.suppress(Exception):
                    shard.close()
            shutil.rmtree(self._s.root / name, ignore_errors=True)

    def bound(self, name: str) -> VectorIndex:
        return EdgeIndex(self._s.root, self.alias, _shards=self._s, _fixed=name)

    def flush(self) -> None:
        """Persist segments and vacuum deleted points (the WAL already makes every acknowledged write durable).

        A shard with deletions is then loaded again, so that its BM25 statistics stop counting the deleted points.
        """
        with self._s.mutex:
            if self.exists():
                name = self._name()
                shard = self._shard()
                with _engine("flush to disk"):
                    shard.optimize()
                    shard.flush()
                    if name in self._s.deleted:
                        self._s.deleted.discard(name)
                        self._s.open.pop(name, None)
                        shard.close()

    def close(self) -> None:
        self._s.close()

    def copy_to(self, dest: Path) -> bool:
        """Flush, then copy aliases.json and the live shard while holding the mutex (no write can interleave)."""
        with self._s.mutex:
            name = self._name()
            self._s.get(name).flush()
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copytree(self._s.root / name, dest / name, ignore=shutil.ignore_patterns(".lock"))
            (dest / ALIASES).write_text(json.dumps({self.alias: name}))
        return True

    # -- writes -----------------------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[tuple[list[int], list[float]]],
               content_hash: dict[str, str], embedder: str = "") -> list[str]:
        ids: list[str] = []
        points: list[qe.Point] = []
        for chunk, vec, (sidx, sval) in zip(chunks, dense, sparse, strict=True):
            pid = point_id(chunk.doc_id, content_hash[chunk.doc_id], chunk.position)
            ids.append(pid)
            points.append(qe.Point(pid, {DENSE: np.asarray(vec, dtype=np.float32).tolist(),
                                         SPARSE: qe.SparseVector(list(sidx), list(sval))}, chunk_payload(chunk, pid, embedder)))
        with self._s.mutex:
            shard = self._shard()
            with _engine("write points"):
                for start in range(0, len(points), BATCH):
                    shard.update(qe.UpdateOperation.upsert_points(points[start:start + BATCH]))
        return ids

    def delete_points(self, ids: Sequence[str]) -> None:
        if ids:
            with self._s.mutex:
                shard = self._shard()
                with _engine("delete points"):
                    shard.update(qe.UpdateOperation.delete_points([_pid(i) for i in ids]))
                self._s.deleted.add(self._name())

    def delete_doc(self, doc_id: str) -> None:
        with self._s.mutex:
            shard = self._shard()
            with _engine("delete a document's points"):
                shard.update(qe.UpdateOperation.delete_points_by_filter(_match("doc_id", doc_id)))
            self._s.deleted.add(self._name())

    def set_case_payload_by_case(self, case_id: str, payload: dict[str, Any]) -> None:
        with self._s.mutex:
            shard = self._shard()
            with _engine("update case payloads"):
                shard.update(qe.UpdateOperation.set_payload_by_filter(_match("case_id", case_id), payload))

    # -- reads ------------------------------------------------------------------------------------------------
    def count(self) -> int:
        with self._s.mutex:
            if not self.exists():
                return 0
            shard = self._shard()
            with _engine("count points"):
                return int(shard.count(qe.CountRequest(exact=True)))

    def all_payloads(self, limit: int = 10_000_000) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        offset = None
        with self._s.mutex:
            shard = self._shard()
            while True:
                records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=min(limit, 1000), with_payload=True,
                                                                with_vector=False))
                out.extend((str(r.id), dict(r.payload or {})) for r in records)
                if offset is None or len(out) >= limit:
                    return out

    def dense_scores(self, dense: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        if not ids:
            return {}
        # The engine scores just these points (an id filter), so no vector crosses into Python.
        request = qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(np.asarray(dense, dtype=np.float32).tolist(),
                                                                          using=DENSE),
                                  filter=qe.Filter(must=[qe.HasIdCondition(point_ids={_pid(i) for i in ids})]),
                                  with_payload=False, params=EXACT)
        with self._s.mutex:
            shard = self._shard()
            with _engine("score vectors"):
                return {str(r.id): float(r.score) for r in shard.query(request)}

    def sparse_search(self, sparse: tuple[list[int], list[float]], *, flt: models.Filter | None,
                      limit: int) -> list[Any]:
        query = qe.Query.Nearest(qe.SparseVector(list(sparse[0]), list(sparse[1])), using=SPARSE)
        return self._query(query, flt, limit)

    def dense_search(self, dense: np.ndarray, *, flt: models.Filter | None, limit: int) -> list[Any]:
        query = qe.Query.Nearest(np.asarray(dense, dtype=np.float32).tolist(), using=DENSE)
        return self._query(query, flt, limit)

    def _query(self, query: Any, flt: models.Filter | None, limit: int) -> list[Any]:
        request = qe.QueryRequest(limit=limit, query=query, filter=to_edge_filter(flt), with_payload=True,
                                  params=EXACT)
        with self._s.mutex:
            shard = self._shard()
            with _engine("search"):
                return list(shard.query(request))


@contextlib.contextmanager
def _engine(what: str) -> Iterator[None]:
    """Qdrant Edge raises bare exceptions (disk full, I/O errors): report them as one line that names the cause."""
    try:
        yield
    except IndexUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's errors have no narrower type
        raise IndexUnavailableError(f"the embedded index could not {what}: {exc}") from None


def _pid(point: str | int) -> str | int:
    """Point ids are UUID strings; integer ids (benchmarks, imports) come back from searches as digit strings."""
    return int(point) if isinstance(point, str) and point.isdigit() else point


def _match(key: str, value: str) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(value))])


def to_edge_filter(flt: models.Filter | None) -> qe.Filter | None:
    """Translate the qdrant-client filters Casewise builds (keyword match/any/except, datetime and numeric ranges)."""
    if flt is None:
        return None

    def conds(items: Any) -> list[Any] | None:
        if items is None:
            return None
        items = items if isinstance(items, list) else [items]
        return [_condition(c) for c in items]

    return qe.Filter(must=conds(flt.must), should=conds(flt.should), must_not=conds(flt.must_not))


def _condition(c: Any) -> Any:
    if isinstance(c, models.Filter):
        return to_edge_filter(c)
    if not isinstance(c, models.FieldCondition):
        raise ValueError(f"the embedded index cannot translate the filter condition {type(c).__name__}")  # noqa: TRY004
    if c.match is not None:
        m = c.match
        if isinstance(m, models.MatchValue):
            return qe.FieldCondition(key=c.key, match=qe.MatchValue(m.value))
        if isinstance(m, models.MatchAny):
            return qe.FieldCondition(key=c.key, match=qe.MatchAny(list(m.any)))  # type: ignore[arg-type]
        if isinstance(m, models.MatchExcept):
            return qe.FieldCondition(key=c.key, match=qe.MatchExcept(list(m.except_)))  # type: ignore[arg-type]
        raise ValueError(f"the embedded index cannot translate the match {type(m).__name__} on {c.key}")
    if isinstance(c.range, models.DatetimeRange):
        r = c.range

        def iso(v: Any) -> str | None:
            return None if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v)

        return qe.FieldCondition(key=c.key, range=qe.RangeDateTime(gte=iso(r.gte), gt=iso(r.gt), lte=iso(r.lte),
                                                                    lt=iso(r.lt)))
    if isinstance(c.range, models.Range):
        r2 = c.range
        return qe.FieldCondition(key=c.key, range=qe.RangeFloat(gte=r2.gte, gt=r2.gt, lte=r2.lte, lt=r2.lt))
    raise ValueError(f"the embedded index cannot translate the condition on {c.key}")
