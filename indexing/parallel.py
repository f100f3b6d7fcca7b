"""Parse, de-identify and chunk documents in worker processes while the indexer embeds and writes.

Parsing (Unstructured, spaCy) and de-identification (Presidio) are single-threaded Python and take most of an index
run's time; embedding is the floor. Worker processes work ahead through the list of documents while the parent
embeds and writes the ones already done, so a run approaches the slower of the two stages instead of their sum.

Only the stages that have no side effects run in workers: every write (index, then manifest) stays in the parent,
in the same order as a run without workers, so the result is identical and kill -9 at any moment is as safe. The
workers are spawned (not forked: the parent holds the embedding runtime's threads) and end with the run, or with
the parent if it is killed (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from casewise.errors import InputFileError

if TYPE_CHECKING:
    from casewise.settings import Settings
    from indexing.reader import DocumentReader, ReadDocument

MIN_DOCUMENTS = 40  # below this, starting workers (imports, spaCy models: ~10 s each) costs more than it saves
MAX_AUTO_WORKERS = 8
MIN_CORES_AUTO = 4  # automatic workers only where there are cores to spare beside embedding

Job = tuple[Path, str, str]  # path, content hash, document id

_worker: DocumentReader | None = None


def worker_count(setting: int, documents: int) -> int:
    """Processes to use for `documents` (0: parse in the indexing process itself)."""
    if documents < MIN_DOCUMENTS and setting == 0:
        return 0
    if setting > 0:
        return min(setting, documents)
    cores = os.cpu_count() or 1
    if cores < MIN_CORES_AUTO:  # the embedding runtime's threads already keep a small machine's cores busy
        return 0
    return min(MAX_AUTO_WORKERS, cores - 1, documents)


def _die_with_parent(parent: int) -> None:
    """kill -9 of the indexer must not leave its workers parsing on: the kernel ends them with it (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)


def _start(settings: Settings, log_level: int, parent: int) -> None:
    global _worker
    _die_with_parent(parent)
    from casewise.offline import enforce_offline
    from indexing.deid import Deidentifier
    from indexing.reader import DocumentReader

    enforce_offline()
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    # A worker only reads files and returns de-identified chunks: no store, index or embedder.
    _worker = DocumentReader(settings, Deidentifier(settings.deid, date_order=settings.extract.date_order))


def _process(job: Job) -> ReadDocument | tuple[str, str]:
    path, digest, doc_id = job
    assert _worker is not None
    try:
        return _worker.read(path, digest, doc_id)
    except InputFileError as exc:  # sent back as plain data: exception pickling loses custom arguments
        return exc.path, exc.reason


def processed(settings: Settings, jobs: list[Job], workers: int) -> Iterator[ReadDocument | InputFileError]:
    """Each job's result, in the jobs' order; the workers run ahead of the consumer."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_start, initargs=(settings, logging.getLogger().getEffectiveLevel(), os.getpid())) as pool:
        for result in pool.imap(_process, jobs, chunksize=1):
            yield InputFileError(*result) if isinstance(result, tuple) else result
