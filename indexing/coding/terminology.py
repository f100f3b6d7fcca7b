"""The ICD-10 terminologies the coder learns labels from: the kernel's (casewise.terminology), named here too."""

from __future__ import annotations

from functools import lru_cache

from casewise.errors import ConfigError
from casewise.terminology import dotted, english_labels, labels, spanish_labels

__all__ = ["dotted", "english_labels", "label_words", "labels", "spanish_labels"]


@lru_cache(maxsize=1)
def label_words() -> frozenset[str]:
    """Every word of both terminologies' labels, as the coder's tokens write them; empty when none is installed.
    A word the terminologies write is a word, never a misspelling of another ('achilles' is not 'chills')."""
    from indexing.coding.text import WORD, fold, stem

    words: set[str] = set()
    for table in (spanish_labels, english_labels):
        try:
            words.update(WORD.findall(fold(" ".join(table().values()))))
        except ConfigError:
            continue
    return frozenset(stem(w) for w in words)
