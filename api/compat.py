"""Stop-gaps for kernel issues the API trips over, applied once at app start until the kernel fixes them.

`casewise.sparse` shares two snowball stemmers between threads (an `lru_cache`d pair); snowball stemmers keep
per-word state on the object, so concurrent requests raise IndexError. The API serves requests from a thread
pool, so it swaps in one pair per thread. Remove when `casewise.sparse._stemmers` is thread-local.
"""

from __future__ import annotations

import threading
from typing import Any

_local = threading.local()


def _thread_local_stemmers() -> Any:
    import snowballstemmer

    pair = getattr(_local, "stemmers", None)
    if pair is None:
        pair = _local.stemmers = (snowballstemmer.stemmer("spanish"), snowballstemmer.stemmer("english"))
    return pair


def apply() -> None:
    """Make the lexical tokenizer safe to call from several threads (idempotent)."""
    from casewise import sparse

    if hasattr(sparse._stemmers, "cache_info"):  # still the shared, lru_cached pair
        sparse._stemmers = _thread_local_stemmers  # type: ignore[assignment]
