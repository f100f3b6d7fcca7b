"""Passage vectors kept in the data folder, so a rebuild or a re-index embeds no unchanged text twice.

A vector is found by sha256(embedder identity and the digest of its ONNX files, prompt kind, sha256 of the
de-identified text): another model, precision, passage prompt or text never reuses it. The vectors derive from clinic records, so the cache lives beside
the index in the data folder (never in a user-wide cache) and mirrors it: each vector records which documents use
it; a document rewritten or erased drops its uses, and a vector no document uses any more is deleted at once.
`retain` (called at the end of every index run) drops the uses of documents the store no longer holds.

One SQLite file, written only by the process that embeds (worker processes parse, they never embed).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from casewise.embedding import Embedder
from casewise.errors import ConfigError, IndexUnavailableError

log = logging.getLogger(__name__)

CACHE_FILE = "vector-cache.sqlite"
SCHEMA = 1
PASSAGE = "passage"
_BATCH = 500  # keys per SQL statement (SQLite's default limit is 32766 variables)

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS uses (doc_id TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (doc_id, key))",
    "CREATE INDEX IF NOT EXISTS uses_key ON uses (key)",
)


def cache_path(data_dir: Path) -> Path:
    """Where the data folder keeps its vector cache."""
    return Path(data_dir) / CACHE_FILE


def cache_identity(embedder: Embedder) -> str:
    """The embedder's identity (weights, prompts) and what ran them: the sha256 of each part's ONNX file (int8 and
    fp32 vectors differ slightly), or the runtime's name where there is no ONNX file."""
    runs = []
    for part in [e for e, _ in getattr(embedder, "parts", None) or [(embedder, 1.0)]]:
        path = getattr(part, "onnx_path", None)
        runs.append(f"onnx:{_file_sha(Path(path))[:16]}" if path else type(part).__name__)
    return f"{embedder.identity}|{'+'.join(runs)}"


_SHAS: dict[tuple[str, int, int], str] = {}


def _file_sha(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHAS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _SHAS[key] = h.hexdigest()
    return _SHAS[key]


def text_key(identity: str, kind: str, text: str) -> bytes:
    """The cache key of `text` embedded by `identity` with the `kind` prompt (passage or query)."""
    text_sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hashlib.sha256(f"{identity}\n{kind}\n{text_sha}".encode()).digest()


class VectorCache:
    """Passage vectors by (embedder identity, prompt, text), with the documents that use each one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        try:
            fresh = not self.path.exists()
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60.0, isolation_level=None)
            if fresh:
                os.chmod(self.path, 0o600)  # vectors of clinic records: readable by the data folder's owner only
            # Deleted rows are overwritten, not left in free pages: an erased document's vectors leave the file.
            self._db.execute("PRAGMA secure_delete = ON")
            with self._db:
                for ddl in _DDL:
                    self._db.execute(ddl)
                row = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
                elif row[0] != str(SCHEMA):
                    raise ConfigError(f"{self.path} was written by another version of Casewise; delete it (it is "
                                      "rebuilt by the next index run)")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the vector cache {self.path} ({exc}); delete it (it is rebuilt by the "
                              "next index run)") from exc

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> VectorCache:
        return cls(cache_path(data_dir))

    # -- reads and writes -------------------------------------------------------------------------------------
    def passages(self, embedder: Embedder, texts: Sequence[str], owners: Sequence[str]) -> np.ndarray:
        """`embedder.embed_passages(texts)`, embedding only texts the cache lacks; `owners[i]` is the document that
        uses `texts[i]`, and each owner's uses are replaced by this call's texts."""
        if len(texts) != len(owners):
            raise ValueError("one owner per text")
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        identity = cache_identity(embedder)
        keys = [text_key(identity, PASSAGE, t) for t in texts]
        found = self._get(set(keys), embedder.dim)
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found:
                missing.setdefault(k, t)
        self.hits += len(texts) - sum(1 for k in keys if k in missing)
        self.misses += len(missing)
        if missing:
            new = np.asarray(embedder.embed_passages(list(missing.values())), dtype=np.float32)
            found.update(zip(missing, new, strict=True))
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        self._record(found, missing, keys, owners)
        return out

    def forget(self, doc_ids: Iterable[str]) -> int:
        """Drop the uses of `doc_ids` (an erased or deleted document) and every vector left unused; returns how many."""
        ids = sorted(set(doc_ids))
        if not ids:
            return 0
        with self._writing("drop an erased document's vectors"), self._lock, self._db:
            self._db.execute("BEGIN")
            old = self._keys_of(ids)
            for part in _parts(ids):
                self._db.execute(f"DELETE FROM uses WHERE doc_id IN ({_marks(part)})", part)
            return self._drop_unused(old)

    def retain(self, doc_ids: Iterable[str]) -> int:
        """Keep only the uses of `doc_ids` (the documents in the index now) and the vectors they use."""
        keep = set(doc_ids)
        with self._writing("drop unused vectors"), self._lock, self._db:
            self._db.execute("BEGIN")
            gone = [d for (d,) in self._db.execute("SELECT DISTINCT doc_id FROM uses") if d not in keep]
            for part in _parts(gone):
                self._db.execute(f"DELETE FROM uses WHERE doc_id IN ({_marks(part)})", part)
            cur = self._db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM uses)")
            n = cur.rowcount
        if n:
            log.info("vector cache: %d vector(s) no indexed document uses were dropped", n)
        return n

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def get(self, embedder: Embedder, text: str) -> np.ndarray | None:
        """`embedder`'s cached passage vector of `text`, or None."""
        key = text_key(cache_identity(embedder), PASSAGE, text)
        return self._get({key}, embedder.dim).get(key)

    def holds(self, embedder: Embedder, text: str) -> bool:
        """Whether the cache holds `embedder`'s passage vector of `text`."""
        return self.get(embedder, text) is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals --------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A failed write (disk full, file too large, read-only folder) as one line naming the cache and the cause;
        the transaction is rolled back, so a re-run after space is freed starts from what was there."""
        try:
            yield
        except sqlite3.Error as exc:
            raise IndexUnavailableError(f"the vector cache {self.path} could not {what}: {exc}; free space (or fix "
                                        "the folder's permissions) and index again: nothing indexed is lost") from None

    def _get(self, keys: set[bytes], dim: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        ordered = sorted(keys)
        with self._lock:
            for part in _parts(ordered):
                rows = self._db.execute(f"SELECT key, dim, vec FROM vectors WHERE key IN ({_marks(part)})", part)
                for key, d, blob in rows:
                    if d == dim and len(blob) == 4 * dim:
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _record(self, vectors: dict[bytes, np.ndarray], new: dict[bytes, str], keys: list[bytes],
                owners: Sequence[str]) -> None:
        ids = sorted(set(owners))
        uses = sorted({(o, k) for o, k in zip(owners, keys, strict=True)})
        with self._writing("store new vectors"), self._lock, self._db:
            self._db.execute("BEGIN")
            old = self._keys_of(ids)
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                 [(k, int(vectors[k].shape[0]), vectors[k].astype(np.float32).tobytes()) for k in new])
            for part in _parts(ids):
                self._db.execute(f"DELETE FROM uses WHERE doc_id IN ({_marks(part)})", part)
            self._db.executemany("INSERT OR IGNORE INTO uses VALUES (?, ?)", uses)
            self._drop_unused(old - set(keys))

    def _keys_of(self, doc_ids: list[str]) -> set[bytes]:
        keys: set[bytes] = set()
        for part in _parts(doc_ids):
            keys.update(bytes(k) for (k,) in
                        self._db.execute(f"SELECT key FROM uses WHERE doc_id IN ({_marks(part)})", part))
        return keys

    def _drop_unused(self, keys: set[bytes]) -> int:
        n = 0
        for part in _parts(sorted(keys)):
            cur = self._db.execute(f"DELETE FROM vectors WHERE key IN ({_marks(part)}) "
                                   "AND key NOT IN (SELECT key FROM uses)", part)
            n += cur.rowcount
        return n


def _parts(items: Sequence[object]) -> Iterable[list]:
    seq = list(items)
    for start in range(0, len(seq), _BATCH):
        yield seq[start:start + _BATCH]


def _marks(part: Sequence[object]) -> str:
    return ",".join("?" * len(part))
