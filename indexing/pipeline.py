"""The indexer: keeps the vector index and the system of record in step with the clinic's folders.

Order of writes per document (crash safety): delete the document's old points -> upsert its new points ->
update its manifest row. The manifest never runs ahead of the index, and point ids are deterministic, so a
run killed at any moment and started again converges on what a clean run gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from casewise.embedding import Embedder
from casewise.embedding.cache import VectorCache
from casewise.errors import InputFileError
from casewise.settings import Settings
from casewise.sparse import sparse_vector
from casewise.store import Store
from casewise.terminology import code_keys
from casewise.types import Chunk
from casewise.vectors import VectorIndex, holds_other_embedder, next_physical
from indexing import parallel
from indexing.assemble import CaseFacts, merge
from indexing.extraction import Extractor
from indexing.reader import DocumentReader, ReadDocument
from indexing.sources import content_hash, discover, doc_id_for, doc_type

if TYPE_CHECKING:
    from indexing.deid import Deidentifier

log = logging.getLogger(__name__)
GROUP = 48  # documents embedded together


@dataclass
class IndexReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    cases: int = 0
    seconds: float = 0.0


class Indexer:
    """Index folders incrementally: only new, changed and deleted files are touched."""

    def __init__(self, settings: Settings, store: Store, index: VectorIndex, embedder: Embedder,
                 deid: Deidentifier, *, extractor: Extractor | None = None, reader: DocumentReader | None = None,
                 vector_cache: VectorCache | None = None) -> None:
        self.settings = settings
        self.store = store
        self.index = index
        self.embedder = embedder
        self.deid = deid
        self.reader = reader or DocumentReader(settings, deid, extractor=extractor)
        self._vector_cache = vector_cache

    @property
    def vector_cache(self) -> VectorCache:
        """The data folder's passage vectors (casewise.embedding.cache), opened on first use."""
        if self._vector_cache is None:
            self._vector_cache = VectorCache.in_data_dir(self.settings.data_dir)
        return self._vector_cache

    # -- public -----------------------------------------------------------------------------------------------
    def run(self, roots: Iterable[Path], progress: Callable[[int, int], None] | None = None, *,
            force: bool = False) -> IndexReport:
        """Bring the index in step with `roots`; `force` re-processes unchanged files too (used by `rebuild`)."""
        started = time.perf_counter()
        roots = [Path(r).expanduser().resolve() for r in roots]
        for r in roots:
            if not r.exists():
                raise InputFileError(str(r), "no such file or folder")
        report = IndexReport()
        if not force:
            self._recover_from_cut_rebuild()
            if holds_other_embedder(self.index, self.embedder.identity, self.embedder.dim):
                # Another embedding model (an upgrade changed the default, the settings, an adapted or retrained
                # folder): new vectors cannot join the old ones, so everything is embedded again into a new
                # collection, switched in when complete.
                log.warning("the vector index was built with another embedding model than %s; rebuilding it",
                            self.embedder.name)
                return self.rebuild(roots, progress)
        self.index.ensure(self.embedder.dim)
        refused: list[tuple[str, str]] = []  # links that point outside the source folders: never read
        files = discover(roots, self.settings.ingest.include, self.settings.ingest.exclude, refused)
        report.quarantined.extend(refused)
        known = {row.source_path: row for row in self.store.documents()}
        todo: list[tuple[Path, str, str, bool]] = []
        for path in files:
            try:
                digest = content_hash(path)
            except OSError as exc:
                report.quarantined.append((str(path), f"cannot read file ({exc.strerror})"))
                continue
            row = known.get(str(path))
            if not force and row is not None and row.content_hash == digest and row.status in ("indexed", "quarantined"):
                report.unchanged += 1
                if row.status == "quarantined" and row.error:
                    report.quarantined.append((str(path), row.error))
                continue
            todo.append((path, digest, doc_id_for(path), row is not None))
        # Refused links are listed like quarantined files (casewise status); what one pointed to before goes.
        for link, reason in refused:
            row = known.get(link)
            if row is None or row.status != "quarantined" or row.error != reason:
                if row is not None:
                    self.index.delete_doc(row.doc_id)
                self._quarantine(Path(link), "", row.doc_id if row else doc_id_for(Path(link)), reason, None)
        # Deleted: files that were indexed under these roots and are gone.
        present = {str(p) for p in files} | {link for link, _ in refused}
        for spath, row in known.items():
            if spath not in present and any(Path(spath).is_relative_to(r) for r in roots):
                self._drop(row.doc_id)
                report.deleted += 1
        done = 0
        outcomes = self._outcomes([(path, digest, doc_id) for path, digest, doc_id, _ in todo])
        for start in range(0, len(todo), GROUP):
            group = todo[start:start + GROUP]
            processed: list[ReadDocument] = []
            for path, digest, doc_id, _existed in group:
                outcome = next(outcomes)
                if isinstance(outcome, InputFileError):
                    self._quarantine(path, digest, doc_id, outcome.reason, known.get(str(path)))
                    report.quarantined.append((str(path), outcome.reason))
                    log.warning("quarantined %s: %s", path.name, outcome.reason)
                else:
                    processed.append(outcome)
            self._write(processed, known, report)
            done += len(group)
            if progress:
                progress(done, len(todo))
        self._assemble(every_case=force)
        self.index.flush()
        self._retain_cached()
        report.cases = self.store.count_cases()
        report.seconds = time.perf_counter() - started
        return report

    def rebuild(self, roots: Iterable[Path], progress: Callable[[int, int], None] | None = None,
                switch_guard: Callable[[], AbstractContextManager[Any]] = nullcontext) -> IndexReport:
        """Rebuild everything into a new physical collection, then switch the alias to it in one step.

        For a new embedding model or chunking. Queries keep using the live collection until the switch (taken under
        `switch_guard`, the API's write lock), so none ever sees a half-built index. A rebuild cut short leaves the
        live collection untouched; its half-built collection is dropped by the next rebuild.
        """
        roots = [Path(r).expanduser().resolve() for r in roots]
        outside = sorted({str(Path(r.source_path).parent) for r in self.store.documents()
                          if not any(Path(r.source_path).is_relative_to(root) for root in roots)})
        if outside:
            raise InputFileError(outside[0], f"is indexed but not among the folders to rebuild ({len(outside)} "
                                 "folder(s) in all); include every indexed folder, or a folder above them")
        live = self.index.target()
        for name in self.index.physical_names():
            if name != live:
                self.index.drop_physical(name)
        new = next_physical(self.index.alias, self.index.physical_names())
        marker = self._rebuild_marker()
        marker.write_text(json.dumps({"target": new}))  # the manifest may now run ahead of the live collection
        self.index.create_physical(new, self.embedder.dim)
        builder = Indexer(self.settings, self.store, self.index.bound(new), self.embedder, self.deid,
                          reader=self.reader, vector_cache=self.vector_cache)
        report = builder.run(roots, progress, force=True)
        with switch_guard():
            self.index.switch_alias(new)
        marker.unlink(missing_ok=True)
        if live is not None:
            self.index.drop_physical(live)
        log.info("rebuilt the index into %s (%d chunks)", new, self.index.count())
        return report

    def _rebuild_marker(self) -> Path:
        return self.settings.data_dir / f"rebuild-{self.index.alias}.json"

    def _recover_from_cut_rebuild(self) -> None:
        """A rebuild killed before its switch wrote the new chunking's ids into the manifest: re-process everything
        into the live collection, so the manifest and the index agree again."""
        marker = self._rebuild_marker()
        if not marker.exists():
            return
        try:
            target = json.loads(marker.read_text()).get("target")
        except (OSError, ValueError):
            target = None
        if target != self.index.target():
            n = self.store.forget_content_hashes()
            log.warning("a rebuild was cut short: all %d documents will be re-processed into the live index", n)
        marker.unlink(missing_ok=True)

    def remove(self, doc_id: str) -> None:
        """Forget one document: its points, its manifest row, and its contribution to its patient's case."""
        self._drop(doc_id)
        self._assemble()
        self.index.flush()

    def _drop(self, doc_id: str) -> None:
        """A document's points, its manifest row and its cached vectors (an erased document's leave with it)."""
        self.index.delete_doc(doc_id)
        self.store.delete_document(doc_id)
        self.vector_cache.forget([doc_id])

    def _retain_cached(self) -> None:
        """The vector cache keeps only the vectors of documents (and case summaries) that the store holds now."""
        ids = {row.doc_id for row in self.store.documents()}
        ids.update(f"CASE:{cid}" for cid in self.store.case_fingerprints())
        self.vector_cache.retain(ids)

    def _embed(self, chunks: list[Chunk]) -> np.ndarray:
        """Passage vectors of `chunks`, from the vector cache where it has them (each chunk's owner: its doc_id)."""
        return self.vector_cache.passages(self.embedder, [c.text for c in chunks], [c.doc_id for c in chunks])

    # -- per document -----------------------------------------------------------------------------------------
    def _outcomes(self, jobs: list[parallel.Job]) -> Iterator[ReadDocument | InputFileError]:
        """Each document parsed, de-identified and chunked, in order: in worker processes for a large batch
        (ingest.workers), so they work ahead while this process embeds and writes."""
        workers = parallel.worker_count(self.settings.ingest.workers, len(jobs))
        if workers:
            log.info("parsing %d documents in %d worker process(es)", len(jobs), workers)
            yield from parallel.processed(self.settings, jobs, workers)
            return
        for path, digest, doc_id in jobs:
            try:
                yield self.reader.read(path, digest, doc_id)
            except InputFileError as exc:
                yield exc

    # -- writes -----------------------------------------------------------------------------------------------
    def _write(self, processed: list[ReadDocument], known: dict[str, Any], report: IndexReport) -> None:
        all_chunks = [c for p in processed for c in p.chunks]
        # Case-level payload as the store knows it now; `_assemble` refreshes it when the case itself changes.
        stored = self.store.get_cases(sorted({c.case_id for c in all_chunks if c.case_id}))
        for c in all_chunks:
            case = stored.get(c.case_id or "")
            if case is not None:
                c.sex, c.age_band = case.sex, case.age_band
                c.diagnoses = [d.name for d in case.diagnoses]
                c.treatments = [t.name for t in case.treatments]
                c.codes = code_keys(case.codes)
        dense = self._embed(all_chunks) if all_chunks else None
        self.vector_cache.forget([p.doc_id for p in processed if not p.chunks])
        sparse = [sparse_vector(c.text) for c in all_chunks]
        offset = 0
        for p in processed:
            n = len(p.chunks)
            old = known.get(str(p.path))
            self.index.delete_doc(p.doc_id)
            ids = self.index.upsert(p.chunks, dense[offset:offset + n], sparse[offset:offset + n],
                                    {p.doc_id: p.content_hash}, self.embedder.identity) if n and dense is not None else []
            offset += n
            self.store.upsert_document(doc_id=p.doc_id, source_path=str(p.path), doc_type=p.dtype,
                                       content_hash=p.content_hash, status="indexed", error=None, case_id=p.case_id,
                                       chunk_ids=ids, facts={k: v.model_dump(mode="json") for k, v in p.facts.items()})
            if old is not None:
                report.changed += 1
            else:
                report.added += 1
            report.chunks_written += n

    def _quarantine(self, path: Path, digest: str, doc_id: str, reason: str, old: Any) -> None:
        # A changed file that no longer parses keeps its last good version in the index: nothing indexed is lost.
        self.store.upsert_document(doc_id=doc_id, source_path=str(path), doc_type=doc_type(path) or "txt",
                                   content_hash=digest, status="quarantined", error=reason,
                                   case_id=old.case_id if old else None,
                                   chunk_ids=old.chunk_ids if old else [], facts=old.facts if old else {})

    def _assemble(self, every_case: bool = False) -> None:
        """Re-assemble every case whose stored facts changed since it was last built (or whose build was cut short).

        Driven by the store, not by this run's memory, so a run killed before this step is completed by the next.
        The case row is written last: until then the case stays stale and is rebuilt.
        """
        by_case: dict[str, list[tuple[str, CaseFacts]]] = {}
        raw: dict[str, list[tuple[str, Any]]] = {}
        for row in self.store.documents():
            for cid, f in (row.facts or {}).items():
                raw.setdefault(cid, []).append((row.doc_id, f))
        built = self.store.case_fingerprints()
        stale = {cid for cid, facts in raw.items() if every_case or built.get(cid) != _fingerprint(facts)}
        for cid in set(built) - set(raw):  # no document mentions this patient any more
            self.index.delete_doc(f"CASE:{cid}")
            self.store.delete_case(cid)
            self.vector_cache.forget([f"CASE:{cid}"])
        if not stale:
            return
        for cid in stale:
            by_case[cid] = [(doc_id, CaseFacts.model_validate(f)) for doc_id, f in raw[cid]]
        cases = [merge(cid, facts) for cid, facts in sorted(by_case.items())]
        summaries = [Chunk(chunk_id="", doc_id=f"CASE:{c.case_id}", case_id=c.case_id, position=0, text=c.summary,
                           section="summary", language=c.language, diagnoses=[d.name for d in c.diagnoses],
                           treatments=[t.name for t in c.treatments], codes=code_keys(c.codes), sex=c.sex,
                           age_band=c.age_band)
                     for c in cases if c.summary]
        dense = self._embed(summaries) if summaries else None
        self.vector_cache.forget([f"CASE:{c.case_id}" for c in cases if not c.summary])
        by_id = {ch.case_id: i for i, ch in enumerate(summaries)}
        for c in cases:
            self.index.delete_doc(f"CASE:{c.case_id}")
            i = by_id.get(c.case_id)
            if i is not None and dense is not None:
                ch = summaries[i]
                self.index.upsert([ch], dense[i:i + 1], [sparse_vector(ch.text)], {ch.doc_id: _hash(ch.text)},
                                  self.embedder.identity)
            self.index.set_case_payload_by_case(c.case_id, {
                "sex": c.sex, "age_band": c.age_band, "diagnoses": [d.name for d in c.diagnoses],
                "treatments": [t.name for t in c.treatments], "codes": code_keys(c.codes)})
            self.store.save_case(c, _fingerprint(raw[c.case_id]))



def _fingerprint(facts: list[tuple[str, Any]]) -> str:
    """Hash of the facts a case is built from (order-independent)."""
    body = json.dumps(sorted(facts, key=lambda x: x[0]), sort_keys=True, default=str)
    return _hash(body)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

