"""Carry Spanish evidence spans over to the English translation of the same note, so English terms are learned too.

CodiEsp's English notes are machine translations without spans. A Spanish span is looked for near the same relative
position of the English note, as the run of English words most like it: shared character trigrams (cognates:
'orquiepididimitis' ~ 'orchiepididymitis'), words the Spanish words translate to (learned from the codes both
terminologies describe: 'derecho' -> 'right'), and words of the code's English label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from indexing.coding.text import WORD, fold, stem

MAX_TRANSLATIONS = 3
MIN_SCORE = 0.5


def _words(text: str) -> list[str]:
    from indexing.coding.text import STOPWORDS

    return [stem(w) for w in (fold(m.group()) for m in WORD.finditer(text)) if w not in STOPWORDS]


class WordTranslations:
    """Spanish word -> likely English words, by Dice co-occurrence over pairs of texts that say the same thing
    (the two terminologies' labels of one code; a note's sentences and their translation)."""

    def __init__(self, pairs: Iterable[tuple[str, str]], *, min_count: int = 2, min_dice: float = 0.3) -> None:
        es_count: Counter[str] = Counter()
        en_count: Counter[str] = Counter()
        both: Counter[tuple[str, str]] = Counter()
        for es, en in pairs:
            ws, we = set(_words(es)), set(_words(en))
            es_count.update(ws)
            en_count.update(we)
            both.update((a, b) for a in ws for b in we)
        best: dict[str, list[tuple[float, str]]] = {}
        for (a, b), n in both.items():
            if n < min_count:
                continue
            dice = 2 * n / (es_count[a] + en_count[b])
            if dice >= min_dice:
                best.setdefault(a, []).append((dice, b))
        self.table = {a: [b for _, b in sorted(c, reverse=True)[:MAX_TRANSLATIONS]] for a, c in best.items()}

    def of(self, word: str) -> list[str]:
        return self.table.get(word, [])

    def update(self, other: WordTranslations) -> WordTranslations:
        """Add the other table's translations after this one's own."""
        for a, bs in other.table.items():
            mine = self.table.setdefault(a, [])
            mine.extend(b for b in bs if b not in mine)
        return self


def parallel_segments(es_text: str, en_text: str) -> list[tuple[str, str]]:
    """(Spanish stretch, English sentence) pairs of a note and its line-per-sentence translation, by relative
    position with a margin either side (translations keep the order of the text, not its lengths)."""
    out = []
    pos = 0
    n_en, n_es = max(1, len(en_text)), len(es_text)
    for line in en_text.split("\n"):
        a = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        lo = max(0, int(a / n_en * n_es) - 60)
        hi = min(n_es, int(pos / n_en * n_es) + 60)
        out.append((es_text[lo:hi], line))
    return out


def _trigrams(words: list[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for w in words:
        w = f"#{w}#"
        out.update(w[i:i + 3] for i in range(len(w) - 2))
    return out


def _dice(a: Counter[str], b: Counter[str]) -> float:
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


def _word_trigrams(word: str) -> Counter[str]:
    w = f"#{word}#"
    return Counter(w[i:i + 3] for i in range(len(w) - 2))


class Aligner:
    def __init__(self, translations: WordTranslations) -> None:
        self.translations = translations

    def similarity(self, es_word: str, en_word: str) -> float:
        """1 for a known translation or the same word, else how much they look alike (cognates)."""
        if es_word == en_word or en_word in self.translations.of(es_word):
            return 1.0
        if min(len(es_word), len(en_word)) < 4:
            return 0.0
        return _dice(_word_trigrams(es_word), _word_trigrams(en_word))

    def project(self, es_text: str, en_text: str, start: int, span: str, en_label: str = "") -> tuple[int, int] | None:
        """Character offsets of the English words that translate `span` (at `start` in the Spanish note), or None.

        A candidate run of English words scores the harmonic mean of how well it covers the Spanish words and how
        well the Spanish words (or the code's English label) explain its words, each word by its best match."""
        src = _words(span)
        if not src or not en_text:
            return None
        label = set(_words(en_label))
        rel = start / max(1, len(es_text))
        centre = rel * len(en_text)
        width = max(250.0, 0.12 * len(en_text))
        lo, hi = max(0, int(centre - width)), min(len(en_text), int(centre + width))
        from indexing.coding.text import STOPWORDS

        toks = [(w, m.start(), m.end()) for m in WORD.finditer(en_text, lo, hi)
                if (w := fold(m.group())) not in STOPWORDS]
        toks = [(stem(w), a, b) for w, a, b in toks]
        sims = [[self.similarity(w, t[0]) for t in toks] for w in src]
        explain = [max(max((sims[k][j] for k in range(len(src))), default=0.0), 0.8 if toks[j][0] in label else 0.0)
                   for j in range(len(toks))]
        best: tuple[float, int, int] | None = None
        max_n = min(len(src) + 2, 8)
        for i in range(len(toks)):
            for n in range(1, max_n + 1):
                j = i + n - 1
                if j >= len(toks):
                    break
                between = en_text[toks[i][1]:toks[j][2]]
                if "\n" in between or ". " in between:
                    break
                cover = sum(max(sims[k][i:j + 1]) for k in range(len(src))) / len(src)
                expl = sum(explain[i:j + 1]) / n
                if cover + expl == 0:
                    continue
                score = 2 * cover * expl / (cover + expl)
                # of equal candidates, the nearer: translations keep the order of the text
                score -= 0.05 * abs(toks[i][1] - centre) / width
                if best is None or score > best[0]:
                    best = (score, toks[i][1], toks[j][2])
        if best is None or best[0] < MIN_SCORE:
            return None
        return best[1], best[2]
