"""Import spaCy and Presidio without torch and transformers, which Casewise's de-identification never uses.

spaCy's small CPU pipelines run on numpy, and Casewise runs Presidio with spaCy NER plus its own rules. Yet importing
them pulls in torch (thinc probes for it) and ``transformers.pipeline`` (Presidio's optional transformer NER engine,
also reached through a spaCy entry point whenever a spaCy model loads), and Presidio imports torch again to pick a
device. On these 2 cores that is about 7 of the ~8 s it takes to import the stack, in every process that
de-identifies: ``casewise index``, ``similar``, ``ask``, ``serve``.

All three guard those imports with ``try/except ImportError``, so hiding the two packages while the stack's modules
load leaves the spaCy path intact; ``PRESIDIO_DEVICE=cpu`` (Presidio's own setting, unless already set) skips its
device probe. Where torch or transformers is already imported (an embedding export, a fine-tuning run), nothing is
hidden. Call :func:`load_nlp_stack` before anything that may import spaCy or Presidio.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HIDDEN = ("torch", "transformers")
STACK = ("spacy", "thinc.api", "presidio_analyzer", "presidio_analyzer.nlp_engine",
         "presidio_analyzer.predefined_recognizers", "presidio_analyzer.context_aware_enhancers",
         "presidio_anonymizer")
_LOCK = threading.Lock()
_loaded = False


class _Hide(importlib.abc.MetaPathFinder):
    """Refuses `names` to the thread that installed it only: another thread (a first-run ONNX export in the server,
    say) imports torch as usual meanwhile."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() == self.thread and fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is not loaded for de-identification (spaCy runs on numpy)",
                                      name=fullname)


@contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    names = tuple(n for n in names if n not in sys.modules)
    if not names:
        yield
        return
    finder = _Hide(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def load_nlp_stack() -> None:
    """Import spaCy, thinc and Presidio once per process, without torch and transformers (see the module's doc)."""
    global _loaded
    with _LOCK:
        if _loaded:
            return
        os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
        with _hidden(HIDDEN):
            for name in STACK:
                importlib.import_module(name)
        _loaded = True
