"""Each distinct text of a batch is encoded once: indexing repeats boilerplate chunks (headers, section templates)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


def distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and for each position of `texts` the index of its text among them."""
    first: dict[str, int] = {}
    where = np.fromiter((first.setdefault(t, len(first)) for t in texts), dtype=np.intp, count=len(texts))
    return list(first), where


def encode_once(encode: Encode, texts: list[str]) -> np.ndarray:
    """`encode(texts)`, but `encode` sees each distinct text once; a repeat gets (a copy of) its first vector."""
    unique, where = distinct(texts)
    if len(unique) == len(texts):
        return encode(texts)
    return encode(unique)[where]
