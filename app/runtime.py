"""The composition root: every component built once per process from Settings, shared by the CLI, the API, the
scheduler, the evaluation and the benchmarks (as PrivateGPT's singleton components are).

Expensive parts (the embedding model, the index handle, the LLM client with its failover state, the retriever with
its vocabulary and caches, the indexer) are built on first use and then reused by every request of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from casewise.embedding import Embedder
from casewise.embedding.factory import get_embedder
from casewise.offline import enforce_offline
from casewise.settings import Settings, load_settings
from casewise.store import Store
from casewise.vectors import VectorIndex
from casewise.vectors.factory import make_index

if TYPE_CHECKING:
    from casewise.llm import LLM
    from indexing.deid import Deidentifier
    from indexing.pipeline import Indexer
    from retrieval.search import CaseRetriever


class Runtime:
    """Lazily built, cached components; safe to share between threads."""

    def __init__(self, settings: Settings | None = None) -> None:
        enforce_offline()
        self.settings = settings or load_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.RLock()
        atexit.register(self.close)  # close the embedded index cleanly (its lock and its sqlite file)

    @cached_property
    def store(self) -> Store:
        return Store.from_settings(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        with self._lock:
            return make_index(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        with self._lock:
            return get_embedder(self.settings.embedding)

    @cached_property
    def deid(self) -> Deidentifier:
        with self._lock:
            from indexing.deid import Deidentifier

            return Deidentifier(self.settings.deid, date_order=self.settings.extract.date_order)

    @cached_property
    def llm(self) -> LLM | None:
        """The chat-model client (None with llm.backend = none): one per process, so failover cooldowns and a
        llama.cpp model in memory carry from one question to the next."""
        with self._lock:
            from casewise.llm import make_llm

            return make_llm(self.settings.llm)

    @cached_property
    def retriever(self) -> CaseRetriever:
        with self._lock:
            from indexing.coding.coder import load_coder
            from indexing.coding.model import model_path
            from retrieval.search import CaseRetriever

            # Queries are coded for the concept channel only by a coder learned on this clinic's records
            # (`casewise learn --codes`); without one (the bundled fallback included) nothing changes.
            learned = model_path(self.settings.data_dir).is_file()
            coder = load_coder(self.settings.data_dir) if learned else None
            return CaseRetriever(self.settings, self.store, self.index, self.embedder, coder=coder)

    @cached_property
    def indexer(self) -> Indexer:
        with self._lock:
            from indexing.extraction import make_extractor
            from indexing.pipeline import Indexer

            # LLM extraction shares the process's one client (its round-robin and failover state) with the answers.
            chat = self.llm if self.settings.extract.backend == "llm" and self.settings.llm.backend == "openai" else None
            return Indexer(self.settings, self.store, self.index, self.embedder, self.deid,
                           extractor=make_extractor(self.settings, chat=chat))

    def view(self, settings: Settings) -> Runtime:
        """The same store, index, embedder and de-identifier under other settings (the API's evidence-only answers
        switch the LLM off this way). The LLM client is the view's own; so are the retriever and the indexer unless
        only the LLM settings differ."""
        _ = (self.store, self.index, self.embedder, self.deid)  # built once, shared by both
        other = copy.copy(self)
        other.settings = settings
        other.__dict__.pop("llm", None)
        if settings.model_copy(update={"llm": self.settings.llm}) != self.settings:
            for part in ("retriever", "indexer"):
                other.__dict__.pop(part, None)
        return other

    def close(self) -> None:
        if "index" in self.__dict__:
            with contextlib.suppress(Exception):  # closing at exit: nothing useful to do with a failure
                self.index.close()
            del self.__dict__["index"]
        for part in ("retriever", "indexer"):  # they hold the closed index handle
            self.__dict__.pop(part, None)
