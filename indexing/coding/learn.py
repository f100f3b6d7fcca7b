"""Learn the coder from coded notes: evidence spans and terminology labels become terms, and every (term, code) pair
is calibrated on the learning notes, each scored by what the others showed (leave-one-note-out), as are the thresholds.

`learn_codes([DIR, ...])` reads CodiEsp-format folders and writes `<data_dir>/coding/icd10-coder-v<N>.json.gz`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from indexing.coding import terminology
from indexing.coding.align import Aligner, WordTranslations, parallel_segments
from indexing.coding.codiesp import CodedNote, Evidence, read_folders
from indexing.coding.lexicon import MAX_TERM_TOKENS, Lexicon, Match
from indexing.coding.model import (
    CATEGORY_LEN,
    FORMAT,
    KINDS,
    PRIOR_WEIGHT,
    VERSION,
    CoderModel,
    LanguageModel,
    combine,
    model_path,
)
from indexing.coding.rerank import Support, features, fit
from indexing.coding.text import normalize, tokenize

LANGUAGES = ("es", "en")
# Languages whose evidence terms also match with their words apart (lexicon.SCATTER_WINDOW). 5-fold CV on CodiEsp
# train, category F1: Spanish diagnoses 0.687 -> 0.690, procedures 0.594 -> 0.608; English diagnoses 0.580 -> 0.578
# (its evidence is projected from the Spanish, and the translations scatter it less), so English goes without.
SCATTERED_LANGUAGES = ("es",)

# Words a terminology label carries that a note never writes ('Dolor, no clasificado en otra parte').
_QUALIFIERS = re.compile(
    r"\([^)]*\)|\[[^\]]*\]|,?\s*\b(?:no especificad[oa]s?|sin otra especificaci[oó]n|no clasificad[oa]s? en otra parte|"
    r"de sitio no especificado|unspecified(?: site)?|not elsewhere classified|NEOM|NCOP|NEC|NOS)\b", re.IGNORECASE)


def label_variants(label: str) -> set[str]:
    cleaned = re.sub(r"\s+", " ", _QUALIFIERS.sub(" ", label)).strip(" ,;")
    return {v for v in (label, cleaned) if v}


@dataclass
class LearnReport:
    path: Path | None
    model: CoderModel
    notes: int
    seconds: float

    def summary(self) -> str:
        langs = ", ".join(f"{lang}: {sum(len(s) for s in lm.lexicon.terms.values()):,} term senses"
                          + (f" (+{n:,} scattered)" if (n := sum(len(s) for s in lm.lexicon.scattered.values())) else "")
                          + ", thresholds "
                          + " ".join(f"{k[0].upper()} {v:.2f}" for k, v in lm.thresholds.items())
                          for lang, lm in self.model.languages.items())
        where = f" -> {self.path}" if self.path else ""
        return f"learned the ICD-10 coder from {self.notes} notes in {self.seconds:.0f} s ({langs}){where}"


def aligner(notes: Sequence[CodedNote] = ()) -> Aligner:
    """Word translations from the two terminologies' labels of the same codes, then from the notes' own
    translations (their texts only, never their codes)."""
    es, en = terminology.spanish_labels(), terminology.english_labels()
    table = WordTranslations((es[c], en[c]) for c in es if c in en)
    pairs = [seg for n in notes if n.texts.get("es") and n.texts.get("en")
             for seg in parallel_segments(n.texts["es"], n.texts["en"])]
    if pairs:
        table.update(WordTranslations(pairs, min_count=3, min_dice=0.35))
    return Aligner(table)


def project_english(notes: Sequence[CodedNote], align: Aligner | None = None) -> int:
    """Add English evidence to every note that has an English text and Spanish evidence; returns how many spans."""
    align = align or aligner(notes)
    en_labels = terminology.english_labels()
    added = 0
    for note in notes:
        es, en = note.texts.get("es"), note.texts.get("en")
        if not es or not en or note.evidence_in("en"):
            continue
        for ev in note.evidence_in("es"):
            start = ev.spans[0][0] if ev.spans else 0
            got = align.project(es, en, start, ev.text, en_labels.get(ev.code, ""))
            if got:
                note.evidence.append(Evidence(ev.kind, ev.code, en[got[0]:got[1]], (got,), "en"))
                added += 1
    return added


def build_lexicon(notes: Sequence[CodedNote], language: str, *, kinds: Sequence[str] = KINDS,
                  use_terminology: bool = True, translations: WordTranslations | None = None) -> Lexicon:
    """Terms of the notes' evidence in `language`, of the terminology's labels and, for English, of the Spanish
    evidence translated word by word (where every word has a translation)."""
    lex = Lexicon()
    for note in notes:
        for toks, kind, code, source in _taught(note, language, translations):
            if kind in kinds:
                scattered = lex.add_scattered(toks, kind, code) if language in SCATTERED_LANGUAGES else None
                for sense in (lex.add(toks, kind, code, source), scattered):
                    if sense is not None:
                        lex.taught.setdefault(note.note_id, set()).add(id(sense))
    by_id = {id(s): s for table in (lex.terms, lex.scattered) for senses in table.values() for s in senses.values()}
    for ids in lex.taught.values():
        for sid in ids:
            by_id[sid].notes += 1
    if use_terminology and "diagnosis" in kinds:
        for tokens, code in terminology_terms(language):
            lex.add(tokens, "diagnosis", code, "term")
    return lex


def _taught(note: CodedNote, language: str, translations: WordTranslations | None
            ) -> list[tuple[tuple[str, ...], str, str, str]]:
    out = [(normalize(ev.text), ev.kind, ev.code, "span") for ev in note.evidence_in(language)]
    if language == "en" and translations is not None:
        for ev in note.evidence_in("es"):
            words = [translations.of(w) for w in normalize(ev.text)]
            if words and all(words):
                out.append((tuple(w[0] for w in words), ev.kind, ev.code, "translated"))
    return out


@lru_cache(maxsize=2)
def terminology_terms(language: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The normalised terms of every label of the language's terminology (computed once per process)."""
    return tuple((toks, code) for code, label in terminology.labels(language).items()
                 for toks in {normalize(v) for v in label_variants(label)} if 0 < len(toks) <= MAX_TERM_TOKENS)


def calibrate(lm: LanguageModel, notes: Sequence[CodedNote], language: str, *, kinds: Sequence[str] = KINDS,
              negation: bool = True) -> None:
    """Fill every sense's hits/fires over the learning notes, the priors of untested senses, the rerankers and the
    thresholds (per kind), each note's predictions scored leave-one-note-out."""
    lex = lm.lexicon
    fired_by_note: list[tuple[CodedNote, list[Match], set[int]]] = []
    for note in notes:
        text = note.texts.get(language)
        if not text:
            continue
        matches = [m for m in lex.find(text, tokens=tokenize(text), drop_negated=negation, drop_nested=False)
                   if m.sense.kind in kinds]
        for s in {id(m.sense): m.sense for m in matches}.values():
            s.fires += 1
            s.hits += s.code in note.codes(s.kind)
        fired_by_note.append((note, matches, lex.taught.get(note.note_id, set())))
    # Leave-one-note-out predictions: each note scored by what the other notes showed (the notes that taught a
    # sense count too: leaving out every note that taught it, as before, measured a term only where the annotators
    # had not marked it, and so underrated the terms they mark consistently; 5-fold CV on CodiEsp train, diagnosis
    # F1 codes / categories: Spanish 0.624 / 0.691 -> 0.643 / 0.707, English 0.492 / 0.578 -> 0.549 / 0.622).
    raw: list[tuple[CodedNote, Match, int, int, bool]] = []
    for note, matches, own in fired_by_note:
        for m in matches:
            s = m.sense
            if id(s) in own and s.source != "term" and s.notes <= 1:
                continue  # without this note the sense would not exist
            correct = s.code in note.codes(s.kind)
            raw.append((note, m, s.hits - correct, s.fires - 1, correct))
    for key in {f"{m.sense.kind}/{m.sense.source}" for _, m, _, _, _ in raw}:
        untested = [c for _, m, _, f, c in raw if f == 0 and f"{m.sense.kind}/{m.sense.source}" == key]
        lm.priors[key] = round((sum(untested) + 1) / (len(untested) + 2), 4)
    lm.notes = len(fired_by_note)
    lm.code_notes = dict(Counter(c for note, _, _ in fired_by_note for kind in kinds for c in note.codes(kind)))
    groups: dict[tuple[str, str, str], _Candidate] = {}
    for note, m, hits, fires, correct in raw:
        s = m.sense
        prior = lm.priors.get(f"{s.kind}/{s.source}", 0.5)
        cand = groups.setdefault((s.kind, note.note_id, s.code), _Candidate(correct))
        cand.add(m, Support((hits + PRIOR_WEIGHT * prior) / (fires + PRIOR_WEIGHT), fires, s.source, len(m.term)))
    rivals = Counter((kind, nid, code[:CATEGORY_LEN[kind]]) for kind, nid, code in groups)
    for kind in kinds:
        gold = sum(len(note.codes(kind)) for note, _, _ in fired_by_note)
        mine = [(k, c) for k, c in groups.items() if k[0] == kind]
        rows = [features(c.supports(), mentions=len(c.spans), rivals=rivals[(kind, nid, code[:CATEGORY_LEN[kind]])] - 1,
                         code_notes=lm.code_notes.get(code, 0) - c.correct, notes=lm.notes - 1)
                for (_, nid, code), c in mine]
        reranker = fit(rows, [c.correct for _, c in mine])
        if reranker is not None:
            lm.rerankers[kind] = reranker
            scored = sorted(((reranker.score(x), c.correct) for x, (_, c) in zip(rows, mine, strict=True)),
                            reverse=True)
        else:
            scored = sorted(((combine([s.confidence for s in c.supports()]), c.correct) for _, c in mine),
                            reverse=True)
        lm.thresholds[kind] = best_threshold(scored, gold)


@dataclass
class _Candidate:
    """One (note, code) the matcher proposed while learning: its distinct terms and the places they are written."""

    correct: bool
    terms: dict[tuple[str, ...], Support] = field(default_factory=dict)
    spans: set[tuple[int, int]] = field(default_factory=set)

    def add(self, match: Match, support: Support) -> None:
        self.spans.add((match.start, match.end))
        if match.term not in self.terms or support.confidence > self.terms[match.term].confidence:
            self.terms[match.term] = support

    def supports(self) -> list[Support]:
        return list(self.terms.values())


def best_threshold(scored: list[tuple[float, bool]], gold: int) -> float:
    """The score cut with the best F1 over (score, correct) pairs sorted by score, best first."""
    best_f1, best_t, tp = -1.0, 1.0, 0
    for i, (score, correct) in enumerate(scored):
        tp += correct
        nxt = scored[i + 1][0] if i + 1 < len(scored) else 0.0
        if nxt == score:
            continue
        f1 = 2 * tp / (i + 1 + gold) if gold else 0.0
        if f1 > best_f1:
            best_f1, best_t = f1, (score + nxt) / 2
    return round(best_t, 4)


def learn_model(notes: Sequence[CodedNote], *, languages: Sequence[str] = LANGUAGES, kinds: Sequence[str] = KINDS,
                use_terminology: bool = True, negation: bool = True, translations: WordTranslations | None = None,
                progress: Callable[[str], None] | None = None) -> CoderModel:
    """A coder learned from these notes (English evidence must already be projected; see `project_english`).

    `translations` (Spanish word -> English words) also turns Spanish evidence into English terms."""
    models: dict[str, LanguageModel] = {}
    labels: dict[str, dict[str, str]] = {}
    for lang in languages:
        if not any(n.texts.get(lang) for n in notes):
            continue
        lex = build_lexicon(notes, lang, kinds=kinds, use_terminology=use_terminology, translations=translations)
        lm = LanguageModel(lex)
        calibrate(lm, notes, lang, kinds=kinds, negation=negation)
        _prune(lm)
        models[lang] = lm
        labels[lang] = _labels(lm, notes, lang)
        if progress:
            progress(f"{lang}: {sum(len(s) for s in lex.terms.values()):,} term senses")
    return CoderModel(models, labels, negation=negation)


def _prune(lm: LanguageModel) -> None:
    """Drop terminology senses that can never reach their threshold (untested and a prior below it)."""
    for key in list(lm.lexicon.terms):
        senses = lm.lexicon.terms[key]
        for sk in list(senses):
            s = senses[sk]
            if s.source == "term" and s.fires == 0 and lm.confidence(s) < lm.thresholds.get(s.kind, 0.5):
                del senses[sk]
        if not senses:
            del lm.lexicon.terms[key]
    lm.lexicon.max_len = max((len(k) for k in lm.lexicon.terms), default=1)


def _labels(lm: LanguageModel, notes: Sequence[CodedNote], language: str) -> dict[str, str]:
    term = terminology.labels(language)
    codes = {s.code for senses in lm.lexicon.terms.values() for s in senses.values()}
    out = {c: term[c] for c in codes if c in term}
    written: dict[str, dict[str, int]] = {}
    for note in notes:
        for ev in note.evidence_in(language):
            if ev.code in codes and ev.code not in out:
                written.setdefault(ev.code, {}).setdefault(ev.text.strip().lower(), 0)
                written[ev.code][ev.text.strip().lower()] += 1
    out.update({c: max(texts, key=lambda t: texts[t]) for c, texts in written.items()})
    return dict(sorted(out.items()))


def learn_codes(folders: Sequence[Path], out: Path | None = None, *, data_dir: Path | None = None,
                languages: Sequence[str] = LANGUAGES, progress: Callable[[str], None] | None = None) -> LearnReport:
    """Learn from CodiEsp-format folders and write the versioned model (to `out`, else `<data_dir>/coding/`)."""
    t0 = time.perf_counter()
    notes = list(read_folders(folders).values())
    align = None
    if "en" in languages:
        align = aligner(notes)
        n = project_english(notes, align)
        if progress:
            progress(f"en: {n:,} Spanish evidence spans carried over to the English translations")
    model = learn_model(notes, languages=languages, progress=progress,
                        translations=align.translations if align else None)
    seconds = time.perf_counter() - t0
    model.meta = {"format": FORMAT, "version": VERSION, "learned": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "folders": [Path(f).name for f in folders], "notes": len(notes), "seconds": round(seconds, 1)}
    path = None
    if out is not None or data_dir is not None:
        path = out if out is not None else model_path(Path(data_dir or "."))
        model.save(path)
    return LearnReport(path, model, len(notes), seconds)
