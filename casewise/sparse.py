"""Lexical sparse vectors computed locally (Qdrant applies IDF): Spanish and English, accent-folded, stemmed.

Term weights saturate like BM25's term frequency (k1=1.2, b=0.75 against an assumed average length), so
Qdrant's IDF modifier on the sparse vector turns a dot product into BM25.
"""

from __future__ import annotations

import functools
import re
import threading
import zlib
from collections import Counter

import snowballstemmer

from casewise.vocabulary import fold

_TOKEN = re.compile(r"[a-z0-9]+")
K1, B, AVG_LEN = 1.2, 0.75, 120.0
STOPWORDS = frozenset(
    ["a", "al", "algo", "con", "contra", "de", "del", "desde", "donde", "e", "el", "ella", "en", "entre", "era", "es", "esta", "este", "esto", "ha", "hay", "la", "las", "le", "les", "lo", "los", "mas", "me", "mi", "muy", "no", "o", "para", "pero", "por", "que", "se", "sin", "sobre", "su", "sus", "tambien", "te", "tiene", "un", "una", "uno", "unos", "y", "ya", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "had", "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "which", "while", "who", "will", "with", "you"]
)


_local = threading.local()


def _stemmers() -> tuple[snowballstemmer.stemmer, snowballstemmer.stemmer]:
    """One pair per thread: snowball stemmers keep per-word state and are not safe to share between threads."""
    pair = getattr(_local, "stemmers", None)
    if pair is None:
        pair = _local.stemmers = (snowballstemmer.stemmer("spanish"), snowballstemmer.stemmer("english"))
    return pair


@functools.lru_cache(maxsize=200_000)
def _stems(tok: str) -> tuple[str, ...]:
    """Spanish and English stems of one token, memoised: clinical vocabulary is small and Zipfian, and the
    pure-Python stemmer was a large share of indexing time."""
    es, en = _stemmers()
    s_es = es.stemWord(tok)
    s_en = en.stemWord(tok)
    return (s_es,) if s_en == s_es else (s_es, s_en)


def _token_terms(tok: str) -> tuple[str, ...]:
    """The terms one folded token contributes: none for stop words and single letters, a number as is, else stems."""
    if tok in STOPWORDS or len(tok) == 1:
        return ()
    return (tok,) if tok.isdigit() else _stems(tok)


def terms(text: str) -> list[str]:
    """Tokens of both languages' stems (the language of a note is not always known or single)."""
    return [t for tok in _TOKEN.findall(fold(text)) for t in _token_terms(tok)]


_WORD = re.compile(r"[^\W_]+")


def words_by_term(text: str) -> dict[str, str]:
    """Each stem of `text` mapped to the first word it came from, lower-case with its accents: what to show a person
    instead of a stem ("kellgren", not "kellgr"; "años", not "anos")."""
    out: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        for tok in _TOKEN.findall(fold(word)):
            for stem in _token_terms(tok):
                out.setdefault(stem, word if fold(word) == tok else tok)
    return out


def term_index(term: str) -> int:
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def sparse_vector(text: str, *, query: bool = False) -> tuple[list[int], list[float]]:
    """Indices and BM25-saturated weights; a query's terms weigh 1 each."""
    counts = Counter(terms(text))
    if not counts:
        return [], []
    length = sum(counts.values())
    merged: dict[int, float] = {}
    for term, tf in counts.items():
        if query:
            w = 1.0
        else:
            w = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / AVG_LEN))
        idx = term_index(term)
        merged[idx] = merged.get(idx, 0.0) + w
    idxs = sorted(merged)
    return idxs, [merged[i] for i in idxs]
