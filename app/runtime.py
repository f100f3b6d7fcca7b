"""Components built once per process from Settings and shared by the CLI, the API and the scheduler.

This is the composition root: it is the one kernel module that reaches into a stage (the de-identifier lives in
`indexing.deid`, and questions must be de-identified before they are audited, searched or sent to a model).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from casewise.embedding import Embedder, get_embedder
from casewise.offline import enforce_offline
from casewise.settings import Settings, load_settings
from casewise.store import Store
from casewise.vectors import VectorIndex, make_index

if TYPE_CHECKING:
    from indexing.deid import Deidentifier


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

            return Deidentifier(self.settings.deid)

    def close(self) -> None:
        if "index" in self.__dict__:
            with contextlib.suppress(Exception):  # closing at exit: nothing useful to do with a failure
                self.index.close()
            del self.__dict__["index"]
