"""The coder role, and its implementation over the learned lexicon."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from casewise.errors import ConfigError
from casewise.lang import detect_language
from casewise.terminology import DIAGNOSIS_CODE, PROCEDURE_CODE
from casewise.types import Code, Language
from indexing.coding import terminology
from indexing.coding.context import note_side
from indexing.coding.conventions import integral_symptom, sited, treatment_spans, with_side, with_site
from indexing.coding.lexicon import Match
from indexing.coding.model import BUNDLED, CATEGORY_LEN, SYSTEMS, CoderModel, combine, model_path
from indexing.coding.rerank import Support
from indexing.coding.sites import sites_in, sites_of_labels, where_only
from indexing.coding.text import tokenize

SITE_WINDOW = 30  # characters either side of a mention where the joint of 'artrosis ... de rodilla' is looked for


class Coder(Protocol):
    """Reads one de-identified note and returns its ICD-10 diagnosis and procedure codes, best first."""

    name: str

    def code(self, text: str, *, language: Language | None = None) -> list[Code]: ...


class LexiconCoder:
    """Terms learned from coded notes and terminology labels, each code kept when its calibrated confidence
    reaches the threshold cross-validation chose for its kind (diagnosis, procedure)."""

    name = "lexicon"

    def __init__(self, model: CoderModel) -> None:
        self.model = model
        self._sites: dict[str, frozenset[str]] = {}
        self._valid: dict[tuple[str, str], bool] = {}

    @classmethod
    def load(cls, path: Path) -> LexiconCoder:
        return cls(CoderModel.load(path))

    def code(self, text: str, *, language: Language | None = None) -> list[Code]:
        """Codes whose confidence reaches their threshold, one per code (its best-supported mention)."""
        lang = self._language(text, language)
        if lang is None:
            return []
        thresholds = self.model.languages[lang].thresholds
        return self.keep(self.candidates(text, language=lang), thresholds)  # type: ignore[arg-type]

    @staticmethod
    def keep(candidates: list[Code], thresholds: dict[str, float]) -> list[Code]:
        """Codes at or over their kind's threshold; and where several codes of one category together reach it
        while none does alone, the best of them (the category is likely right even when the code is not); R52 not
        beside a code that includes its pain (conventions.integral_symptom)."""
        kept = [c for c in candidates if c.confidence >= thresholds.get(c.kind, 0.5)]
        have = {(c.kind, c.category) for c in kept}
        groups: dict[tuple[str, str], list[Code]] = {}
        for c in candidates:
            if (c.kind, c.category) not in have:
                groups.setdefault((c.kind, c.category), []).append(c)
        for (kind, _), codes in groups.items():
            if len(codes) > 1 and combine([c.confidence for c in codes]) >= thresholds.get(kind, 0.5):
                kept.append(max(codes, key=lambda c: c.confidence))
        diagnoses = {c.code for c in kept if c.kind == "diagnosis"}
        kept = [c for c in kept if c.kind != "diagnosis" or not integral_symptom(c.code, diagnoses)]
        kept.sort(key=lambda c: (-c.confidence, c.start or 0, c.code))
        return kept

    def candidates(self, text: str, *, language: Language | None = None) -> list[Code]:
        """Every code a term of the note stands for, with its confidence, best first (ranked lists, as for MAP)."""
        lang = self._language(text, language)
        if lang is None or not text.strip():
            return []
        lm = self.model.languages[lang]
        tokens = tokenize(text)
        matches = lm.lexicon.find(text, tokens=tokens, drop_negated=self.model.negation, drop_nested=False)
        named = sites_in(t.norm for t in tokens)
        treatments = treatment_spans(text)
        sole_side = note_side(text)
        best: dict[tuple[str, str], tuple[float, Match]] = {}
        terms: dict[tuple[str, str], dict[tuple[str, ...], Support]] = {}
        spans: dict[tuple[str, str], set[tuple[int, int]]] = {}
        for m in matches:
            if not self._valid_code(m.sense.kind, m.sense.code) or not self._site_named(m.sense.code, named):
                continue
            if m.sense.fires <= m.sense.notes and where_only(m.term):
                continue  # a site alone never tested out of its notes says where, not what ('left ankle': a sprain?)
            if any(a <= m.start and m.end <= b for a, b in treatments):
                continue  # a word of a treatment's name ('shock' of 'shock wave therapy')
            conf = lm.confidence(m.sense)
            key = (m.sense.kind, m.sense.code)
            supports = terms.setdefault(key, {})
            if m.term not in supports or conf > supports[m.term].confidence:
                supports[m.term] = Support(conf, m.sense.fires, m.sense.source, len(m.term))
            spans.setdefault(key, set()).add((m.start, m.end))
            if key not in best or conf > best[key][0] or (conf == best[key][0] and m.end - m.start > _len(best[key][1])):
                best[key] = (conf, m)
        rivals = Counter((kind, code[:CATEGORY_LEN[kind]]) for kind, code in best)
        best = {(kind, code): (lm.code_confidence(kind, code, list(terms[(kind, code)].values()),
                                                  mentions=len(spans[(kind, code)]),
                                                  rivals=rivals[(kind, code[:CATEGORY_LEN[kind]])] - 1), m)
                for (kind, code), (_, m) in best.items()}
        coded: dict[tuple[str, str], Code] = {}
        for (kind, code), (conf, m) in best.items():
            side = m.side or sole_side
            if kind == "diagnosis":
                if sited(code):
                    code = with_site(code, self._sites_near(text, m))
                code = with_side(code, side)
            c = Code(system=SYSTEMS[kind], kind=kind, code=code,  # type: ignore[arg-type]
                     label=self.model.label(code, lang), text=text[m.start:m.end], start=m.start, end=m.end,
                     confidence=round(min(1.0, max(0.0, conf)), 4), side=side)  # type: ignore[arg-type]
            if (kind, code) not in coded or c.confidence > coded[(kind, code)].confidence:
                coded[(kind, code)] = c
        out = list(coded.values())
        out.sort(key=lambda c: (-c.confidence, c.start or 0, c.code))
        return out

    @staticmethod
    def _sites_near(text: str, m: Match) -> frozenset[str]:
        """The body sites named in the mention and the few words either side of it, on its line."""
        lo = text.rfind("\n", 0, m.start) + 1
        hi = text.find("\n", m.end)
        window = text[max(lo, m.start - SITE_WINDOW):min(hi if hi >= 0 else len(text), m.end + SITE_WINDOW)]
        return sites_in(t.norm for t in tokenize(window))

    def _site_named(self, code: str, named: frozenset[str]) -> bool:
        """False when the code's labels name a body site and the note names none of them ('Pleural effusion' on
        a note about a knee's effusion, 'RM cerebral' on a note about a tendon's MRI)."""
        sites = self._sites.get(code)
        if sites is None:
            sites = self._sites[code] = sites_of_labels(self.model.label(code, lang) for lang in ("es", "en"))
        return not sites or bool(sites & named)

    def _valid_code(self, kind: str, code: str) -> bool:
        """A well-formed code; a diagnosis also one of the installed terminologies' (or one of their codes with
        CodiEsp's placeholder 'x' for a character left out: 's02.0xx')."""
        key = (kind, code)
        if key not in self._valid:
            if kind == "procedure":
                self._valid[key] = PROCEDURE_CODE.match(code) is not None
            elif DIAGNOSIS_CODE.match(code) is None:
                self._valid[key] = False
            else:
                known = _known_codes()
                stem = code.rstrip("x").rstrip(".")
                self._valid[key] = known is None or code in known or stem in known
        return self._valid[key]

    def _language(self, text: str, language: Language | None) -> str | None:
        lang = language or detect_language(text)
        if lang in self.model.languages:
            return lang
        return next(iter(self.model.languages), None)


def load_coder(data_dir: Path | None) -> LexiconCoder | None:
    """The coder indexing uses: the one learned into the data folder (`casewise learn --codes`), else the bundled
    one (learned from CodiEsp train), else None. Loaded once per process for each model file version."""
    for path in ([model_path(data_dir)] if data_dir is not None else []) + [BUNDLED]:
        if path.is_file():
            stat = path.stat()
            return _cached(str(path), stat.st_mtime_ns, stat.st_size)
    return None


@lru_cache(maxsize=4)
def _cached(path: str, _mtime_ns: int, _size: int) -> LexiconCoder:
    return LexiconCoder.load(Path(path))


@lru_cache(maxsize=1)
def _known_codes() -> frozenset[str] | None:
    try:
        return frozenset(terminology.spanish_labels()) | frozenset(terminology.english_labels())
    except ConfigError:  # no terminology installed: the form is all that can be checked
        return None


def _len(m: Match) -> int:
    return m.end - m.start
