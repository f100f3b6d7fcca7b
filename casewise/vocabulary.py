"""The controlled vocabulary of diagnoses, treatments and outcome measures, with Spanish and English synonyms.

Matching is on accent-folded lower-case text. Every stage maps free text and table labels to these canonical ids.
A clinic extends the built-in vocabulary with a TOML or YAML file (setting `extract.vocabulary_file`) that
`load_vocabulary` merges over it: more synonyms for existing ids, or new diagnoses, treatments and measures.
The module-level functions use the built-in vocabulary; a `Vocabulary` object carries a clinic's merged one.

A clinic's file (TOML shown; YAML has the same shape)::

    [treatments.prp]                 # an existing id: more synonyms
    synonyms = ["plasma autólogo"]
    [treatments.ozone]               # a new id: labels, category and synonyms
    label_es = "ozonoterapia"
    label_en = "ozone therapy"
    category = "injection"           # injection, biologic, physical, surgery
    synonyms = ["ozono", "ozone"]
    [diagnoses.trochanteric_bursitis]
    label_es = "bursitis trocantérea"
    icd10 = "M70.6"
    [measures.IKDC]                  # a new outcome measure needs its range and direction
    synonyms = ["ikdc"]
    higher_is_better = true
    range = [0, 100]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from casewise.errors import ConfigError


def fold(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in nfkd if not unicodedata.combining(ch))


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """`fold(text)` plus, for every folded character, the index of the original character it came from.

    Folding can change the length ('½' -> '1⁄2'), so spans found in folded text are mapped back through this.
    """
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch.lower()):
            if not unicodedata.combining(c):
                out.append(c)
                offsets.append(i)
    return "".join(out), offsets


@dataclass(frozen=True)
class Term:
    id: str
    label_es: str
    label_en: str
    synonyms: tuple[str, ...]
    icd10: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    category: str | None = None  # treatments: injection, biologic, physical, surgery (what the clinic groups by)


@dataclass(frozen=True)
class Measure:
    """An outcome measure: its synonyms, direction, minimal clinically important difference and valid range."""

    id: str
    synonyms: tuple[str, ...]
    higher_is_better: bool
    mcid: float
    low: float
    high: float


@dataclass(frozen=True)
class Mention:
    """A vocabulary term found in text: canonical id and the [start, end) span in the original text."""

    id: str
    start: int
    end: int
    text: str


DIAGNOSES: tuple[Term, ...] = (
    Term("knee_oa", "artrosis de rodilla", "knee osteoarthritis",
         ("gonartrosis", "artrosis de rodilla", "artrosis rodilla", "oa rodilla", "artrosis en rodilla", "oa knee", "osteoartritis de rodilla", "oa de rodilla",
          "knee oa", "knee osteoarthritis", "osteoarthritis of the knee", "osteoarthritis of knee", "oa of the knee", "gonarthrosis",
          "artrosis femorotibial", "artrosis tricompartimental", "tricompartmental oa", "artrosis de rodila",
          "knee arthritis", "degenerative knee"), "M17"),
    Term("hip_oa", "artrosis de cadera", "hip osteoarthritis",
         ("coxartrosis", "artrosis de cadera", "artrosis cadera", "oa cadera", "oa de cadera", "artrosis en cadera", "hip oa", "hip osteoarthritis",
          "osteoarthritis of the hip", "osteoarthritis of hip", "oa of the hip", "coxarthrosis"), "M16"),
    Term("lateral_epicondylitis", "epicondilitis lateral", "lateral epicondylitis",
         ("epicondilitis", "epicondilalgia", "codo de tenista", "tennis elbow", "lateral epicondylitis",
          "lateral epicondylalgia", "epicondylitis"), "M77.1"),
    Term("rotator_cuff_tendinopathy", "tendinopatía del manguito rotador", "rotator cuff tendinopathy",
         ("manguito rotador", "manguito de los rotadores", "tendinopatia del supraespinoso", "supraespinoso",
          "rotator cuff", "rc tendinopathy", "supraspinatus tendinopathy", "supraspinatus", "tendinitis del hombro",
          "shoulder impingement", "pinzamiento subacromial"), "M75.1"),
    Term("plantar_fasciitis", "fascitis plantar", "plantar fasciitis",
         ("fascitis plantar", "fasciopatia plantar", "plantar fasciitis", "plantar fasciopathy", "espolon calcaneo",
          "heel spur", "talalgia plantar"), "M72.2"),
    Term("patellar_tendinopathy", "tendinopatía rotuliana", "patellar tendinopathy",
         ("tendinopatia rotuliana", "tendinitis rotuliana", "tendinopatia patelar", "rodilla del saltador",
          "patellar tendinopathy", "patellar tendinitis", "jumper's knee", "jumpers knee"), "M76.5"),
    Term("achilles_tendinopathy", "tendinopatía aquílea", "Achilles tendinopathy",
         ("tendinopatia aquilea", "tendinopatia de aquiles", "tendinopatia del aquiles", "tendinitis aquilea",
          "tendon de aquiles", "achilles tendinopathy", "achilles tendinitis", "achilles tendon"), "M76.6"),
)

TREATMENTS: tuple[Term, ...] = (
    Term("prp", "plasma rico en plaquetas (PRP)", "platelet-rich plasma (PRP)",
         ("prp", "plasma rico en plaquetas", "plasma rico", "platelet-rich plasma", "platelet rich plasma",
          "factores de crecimiento", "pfc", "prgf", "lr-prp", "lp-prp"), category="biologic"),
    Term("hyaluronic_acid", "ácido hialurónico", "hyaluronic acid",
         ("acido hialuronico", "ac. hialuronico", "ac hialuronico", "ah ia", "ah", "hialuronico", "hyaluronic acid",
          "hyaluronan", "viscosupplementation", "viscosuplementacion", "synvisc", "durolane", "ostenil", "ha injection", "ha ia",
          ), category="injection"),
    Term("corticosteroid", "corticoide", "corticosteroid",
         ("corticoide", "corticoides", "corticoidea", "infiltracion corticoide", "infiltracion corticoidea", "csi", "infiltracion de corticoide", "triamcinolona",
          "betametasona", "metilprednisolona", "trigon", "celestone", "depo-medrol", "corticosteroid",
          "corticosteroids", "steroid injection", "steroid inj", "steroid", "steroids", "cortisone", "triamcinolone",
          "methylprednisolone", "betamethasone"), category="injection"),
    Term("bmac", "concentrado de médula ósea (BMAC)", "bone marrow aspirate concentrate (BMAC)",
         ("bmac", "celulas madre", "aspirado de medula osea", "concentrado de medula osea", "concentrado medula osea",
          "stem cell", "stem cells", "bone marrow aspirate", "bone marrow concentrate", "msc"), category="biologic"),
    Term("physiotherapy", "fisioterapia", "physiotherapy",
         ("fisioterapia", "fisio", "rehabilitacion", "rhb", "hep", "home exercise", "ejercicio excentrico", "ejercicios excentricos",
          "physiotherapy", "physical therapy", "physio", "pt program", "eccentric exercise", "eccentric loading", "rehab"),
         category="physical"),
    Term("eswt", "ondas de choque", "shockwave therapy (ESWT)",
         ("ondas de choque", "ondas choque", "eswt", "shockwave", "shock wave", "extracorporeal shock", "och"),
         category="physical"),
    Term("surgery_referral", "derivación a cirugía", "referral to surgery",
         ("derivacion a cirugia", "derivado a cirugia", "derivacion a traumatologia", "deriv. traumatologia",
          "derivacion cot", "derivada a cot", "derivado a cot", "derivacion a cot", "derivados a cot", "derivadas a cot",
          "derivados a cirugia", "derivadas a cirugia", "derivada a cirugia", "derivados a traumatologia",
          "remitido a cot", "remitida a cot", "remitidos a cot", "valoracion quirurgica",
          "protesis", "artroplastia", "referral to surgery", "referred to surgery", "surgical referral",
          "referred for surgery", "referred to orthopaedics", "referred to orthopedics", "orthopaedic referral",
          "orthopedic referral", "ortho referral", "ortho surgery referral", "arthroplasty", "knee replacement",
          "hip replacement", "tkr", "tka", "tha"), category="surgery"),
)

MEASURE_TERMS: tuple[Measure, ...] = (
    Measure("VAS", ("vas", "eva", "escala visual analogica", "visual analogue scale", "nrs", "pain score"), False, 2.0, 0, 10),
    Measure("WOMAC", ("womac",), False, 12.0, 0, 96),
    Measure("KOOS", ("koos",), True, 8.0, 0, 100),
    Measure("LEQUESNE", ("lequesne",), False, 2.0, 0, 24),
    Measure("ROM", ("rom", "range of motion", "rango de movilidad", "balance articular"), True, 10.0, 0, 180),
    Measure("RTA", ("return to activity", "return to sport", "vuelta a la actividad", "vuelta al deporte"), True, 1.0, 0, 1),
)

# measure id -> (synonyms, higher_is_better, minimal clinically important difference)
MEASURES: dict[str, tuple[tuple[str, ...], bool, float]] = {
    m.id: (m.synonyms, m.higher_is_better, m.mcid) for m in MEASURE_TERMS
}

# Labels that name a treatment only as a whole treatment cell: in free text 'PT' is also the patient and the
# prothrombin time (notes read it from its context, indexing.extraction.rules).
_WHOLE_LABEL = {"pt": "physiotherapy"}

_ICD = re.compile(r"\b([A-Z]\d{2}(?:\.\d{1,3})?)\b")
_Patterns = list[tuple[re.Pattern[str], str]]

# Typo-tolerant matching: a word of a multi-word synonym may be written one edit off ('kne oa', 'artrosis de
# rodiila'), never a word shorter than MIN_TYPO_WORD or an abbreviation. A one-word synonym only from MIN_TYPO_SINGLE
# letters ('physiotherpy'): short single words are brand names, eponyms and abbreviations, where one slip with no
# other word to confirm it reads too much.
MIN_TYPO_WORD = 4
MIN_TYPO_SINGLE = 8
_WORD = re.compile(r"[a-z0-9]+")
_VOWEL = re.compile(r"[aeiouy]")


def one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by exactly one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


class TypoCorrector:
    """Rewrites, in folded text, the words one edit away from exactly one target word.

    A word in `known` (the vocabulary's and the terminology's own words) is never rewritten: it is written that way
    on purpose ('hombre' is not a slip of 'hombro'). A word one edit from two targets is ambiguous and kept.
    """

    def __init__(self, targets: Iterable[str] | Mapping[str, Hashable], known: Iterable[str]) -> None:
        # A word one edit from several targets of one group (the same terms: 'rodilla' and the listed slip
        # 'rodila', 'gonartrosis' and 'gonarthrosis') reads as the longest of them; from two groups, as nothing.
        self._group: dict[str, Hashable] = dict(targets) if isinstance(targets, Mapping) else {t: t for t in targets}
        self.targets = frozenset(self._group)
        self.known = frozenset(known) | self.targets
        self._by_delete: dict[str, set[str]] = {}
        for t in self.targets:
            for key in {t, *deletes(t)}:
                self._by_delete.setdefault(key, set()).add(t)
        self._cache: dict[str, str | None] = {}

    def correction(self, word: str) -> str | None:
        """The one target `word` is a slip of, or None."""
        if word in self._cache:
            return self._cache[word]
        fix = None
        if len(word) >= MIN_TYPO_WORD - 1 and word not in self.known and not word.isdigit():
            near = sorted({t for key in {word, *deletes(word)} for t in self._by_delete.get(key, ())
                           if one_edit(word, t)}, key=lambda t: (-len(t), t))
            fix = near[0] if near and len({self._group[t] for t in near}) == 1 else None
        self._cache[word] = fix
        return fix

    def correct(self, folded: str) -> tuple[str, list[int], list[tuple[int, int]]]:
        """(corrected text, for each of its characters the index in `folded` it stands for, the rewritten spans
        in the corrected text); the text unchanged when nothing is rewritten."""
        out: list[str] = []
        index: list[int] = []
        fixed: list[tuple[int, int]] = []
        last = 0
        for m in _WORD.finditer(folded):
            fix = self.correction(m.group(0))
            if fix is None:
                continue
            out.append(folded[last:m.start()])
            index.extend(range(last, m.start()))
            start = len(index)
            out.append(fix)
            index.extend(min(m.start() + k, m.end() - 1) for k in range(len(fix)))
            fixed.append((start, len(index)))
            last = m.end()
        if not fixed:
            return folded, list(range(len(folded))), []
        out.append(folded[last:])
        index.extend(range(last, len(folded)))
        return "".join(out), index, fixed


def deletes(word: str) -> set[str]:
    """The word with one character left out, each way (the typo neighbourhood of Symmetric Delete)."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _compile(terms: tuple[Term, ...]) -> _Patterns:
    out = []
    for t in terms:
        for syn in sorted(t.synonyms, key=len, reverse=True):
            out.append((re.compile(r"(?<![a-z0-9])" + re.escape(fold(syn)) + r"(?![a-z0-9])"), t.id))
    return out


class Vocabulary:
    """Diagnoses, treatments and measures with their synonyms; finds them in free text and table labels."""

    def __init__(self, diagnoses: tuple[Term, ...], treatments: tuple[Term, ...], measures: tuple[Measure, ...], *,
                 typos: TypoCorrector | None = None) -> None:
        self.diagnoses = diagnoses
        self.treatments = treatments
        self.measures = {m.id: m for m in measures}
        self.typos = typos  # set: mentions are also found where a word of a synonym is written one edit off

    def tolerant(self, known: Iterable[str] = ()) -> Vocabulary:
        """This vocabulary, finding its diagnosis and treatment terms also where one word is mistyped.

        `known`: words written that way on purpose (a terminology's), never read as a slip; the vocabulary's own
        words are always known.
        """
        return Vocabulary(self.diagnoses, self.treatments, tuple(self.measures.values()),
                          typos=TypoCorrector(self._typo_terms, set(known) | self.words))

    @cached_property
    def words(self) -> frozenset[str]:
        """Every folded word the vocabulary writes (synonyms, labels, measures)."""
        out: set[str] = set()
        for t in self.diagnoses + self.treatments:
            for text in (*t.synonyms, t.label_es, t.label_en):
                out.update(_WORD.findall(fold(text)))
        for m in self.measures.values():
            for text in (*m.synonyms, m.id):
                out.update(_WORD.findall(fold(text)))
        return frozenset(out)

    @cached_property
    def _typo_terms(self) -> dict[str, frozenset[str]]:
        """The words a slip may be read as -> the ids of the terms whose synonyms hold them: words of diagnosis and
        treatment synonyms of at least MIN_TYPO_WORD letters (MIN_TYPO_SINGLE for a one-word synonym), with a vowel,
        and not an abbreviation (a word the labels write in capitals, as 'PRP', 'BMAC')."""
        abbreviations = {fold(w) for t in self.diagnoses + self.treatments for label in (t.label_es, t.label_en)
                         for w in re.findall(r"\b[A-Z][A-Z0-9]+\b", label)}
        terms: dict[str, set[str]] = {}
        for t in self.diagnoses + self.treatments:
            for syn in t.synonyms:
                words = _WORD.findall(fold(syn))
                shortest = MIN_TYPO_WORD if len(words) > 1 else MIN_TYPO_SINGLE
                for w in words:
                    if len(w) >= shortest and _VOWEL.search(w) and not w.isdigit() and w not in abbreviations:
                        terms.setdefault(w, set()).add(t.id)
        return {w: frozenset(ids) for w, ids in terms.items()}

    @cached_property
    def _diagnosis_patterns(self) -> _Patterns:
        return _compile(self.diagnoses)

    @cached_property
    def _treatment_patterns(self) -> _Patterns:
        return _compile(self.treatments)

    # -- finding terms in text
    def find_diagnoses(self, text: str) -> list[str]:
        """Canonical diagnosis ids mentioned in text (words or ICD-10 codes), in order of first mention."""
        found = _first_hits(text, self._diagnosis_patterns, self.typos)
        for m in _ICD.finditer(text):
            d = self.diagnosis_from_icd10(m.group(1))
            if d and d not in found:
                found.append(d)
        return found

    def find_treatments(self, text: str) -> list[str]:
        """Canonical treatment ids mentioned in text, in order of first mention."""
        return _first_hits(text, self._treatment_patterns, self.typos)

    def diagnosis_mentions(self, text: str) -> list[Mention]:
        """Every diagnosis mention with its span (longest synonym wins where two overlap)."""
        return _mentions(text, self._diagnosis_patterns, self.typos)

    def treatment_mentions(self, text: str) -> list[Mention]:
        """Every treatment mention with its span (longest synonym wins where two overlap)."""
        return _mentions(text, self._treatment_patterns, self.typos)

    # -- labels and codes
    def treatment_id(self, label: str) -> str | None:
        """Map a clinic's own treatment label (a table cell) to a canonical id."""
        found = self.find_treatments(label)
        if found:
            return found[0]
        f = fold(label).strip()
        whole = _WHOLE_LABEL.get(f.rstrip("."))
        if whole and any(t.id == whole for t in self.treatments):
            return whole
        return next((t.id for t in self.treatments if t.id == f), None)

    def diagnosis_id(self, label: str) -> str | None:
        found = self.find_diagnoses(label)
        if found:
            return found[0]
        f = fold(label).strip()
        return next((t.id for t in self.diagnoses if t.id == f), None)

    def diagnosis_from_icd10(self, code: str) -> str | None:
        code = code.strip().upper()
        for t in self.diagnoses:
            if t.icd10 and code.startswith(t.icd10):
                return t.id
        return None

    def measure_id(self, label: str) -> str | None:
        f = fold(label)
        for mid, m in self.measures.items():
            if fold(mid) == f.strip() or any(
                    re.search(r"(?<![a-z])" + re.escape(fold(s)) + r"(?![a-z])", f) for s in m.synonyms):
                return mid
        return None

    def label(self, term_id: str, language: str = "en") -> str:
        for t in self.diagnoses + self.treatments:
            if t.id == term_id:
                return t.label_es if language == "es" else t.label_en
        return term_id

    def icd10_of(self, diagnosis: str) -> str | None:
        return next((t.icd10 for t in self.diagnoses if t.id == diagnosis), None)

    def category_of(self, treatment: str) -> str | None:
        return next((t.category for t in self.treatments if t.id == treatment), None)

    def measure(self, measure_id: str) -> Measure | None:
        return self.measures.get(measure_id)


def _first_hits(text: str, pats: _Patterns, typos: TypoCorrector | None = None) -> list[str]:
    if typos is not None:
        return list(dict.fromkeys(m.id for m in _mentions(text, pats, typos)))
    folded = fold(text)
    hits: dict[str, int] = {}
    for pat, tid in pats:
        m = pat.search(folded)
        if m and (tid not in hits or m.start() < hits[tid]):
            hits[tid] = m.start()
    return sorted(hits, key=hits.__getitem__)


def _typo_hits(folded: str, pats: _Patterns, typos: TypoCorrector) -> list[tuple[int, int, str]]:
    """Matches that need one mistyped word read as the synonym's (spans in `folded`); one such word per match."""
    corrected, index, fixed = typos.correct(folded)
    if not fixed:
        return []
    out = []
    for pat, tid in pats:
        for m in pat.finditer(corrected):
            inside = sum(1 for s, e in fixed if m.start() <= s and e <= m.end())
            if inside == 1 and not any(s < m.start() < e or s < m.end() < e for s, e in fixed):
                out.append((index[m.start()], index[m.end() - 1] + 1, tid))
    return out


def _mentions(text: str, pats: _Patterns, typos: TypoCorrector | None = None) -> list[Mention]:
    folded, offsets = fold_with_offsets(text)
    found: list[tuple[int, int, str]] = []
    for pat, tid in pats:
        for m in pat.finditer(folded):
            found.append((m.start(), m.end(), tid))
    if typos is not None:  # never over a term written right
        found += [h for h in _typo_hits(folded, pats, typos) if not any(s < h[1] and h[0] < e for s, e, _ in found)]
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    out: list[Mention] = []
    last_end = -1
    for s, e, tid in found:
        if s < last_end:
            continue
        start, end = offsets[s], offsets[e - 1] + 1
        out.append(Mention(tid, start, end, text[start:end]))
        last_end = e
    return out


BUILTIN = Vocabulary(DIAGNOSES, TREATMENTS, MEASURE_TERMS)


# -- a clinic's vocabulary file -----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> Vocabulary:
    return _merge(BUILTIN, _read(Path(path)), path)


def load_vocabulary(path: Path | str | None) -> Vocabulary:
    """The built-in vocabulary, with the clinic's TOML/YAML file merged over it when one is named."""
    if path is None:
        return BUILTIN
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"extract.vocabulary_file: no such file {p}")
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"{path}: a vocabulary file must end in .toml, .yaml or .yml")
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - parse errors of either format become one line
        raise ConfigError(f"{path}: cannot parse the vocabulary file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the vocabulary file must hold tables 'diagnoses', 'treatments', 'measures'")
    unknown = set(data) - {"diagnoses", "treatments", "measures"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; valid: diagnoses, treatments, measures")
    return data


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string")
    return value.strip()


def _entries(section: dict[str, Any], kind: str, path: str, id_pattern: str, id_rule: str,
             allowed: set[str]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(id, spec, where) for each entry of a vocabulary-file section, with its id and fields checked."""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: {kind} must be a table of ids")
    for eid, spec in section.items():
        where = f"{path}: {kind}.{eid}"
        if not re.fullmatch(id_pattern, str(eid)):
            raise ConfigError(f"{where}: {id_rule}")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: must be a table (synonyms = [...])")
        bad = set(spec) - allowed
        if bad:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(bad))}; valid: {', '.join(sorted(allowed))}")
        yield str(eid), spec, where


def _merge_terms(base: tuple[Term, ...], section: Any, kind: str, path: str) -> tuple[Term, ...]:
    if section is None:
        return base
    terms = {t.id: t for t in base}
    for tid, spec, where in _entries(section, kind, path, r"[a-z][a-z0-9_]{1,60}",
                                     "ids are lower-case letters, digits and '_' (e.g. 'ozone_therapy')",
                                     {"label_es", "label_en", "synonyms", "icd10", "category"}):
        syns = _strs(spec.get("synonyms"), f"{where}.synonyms")
        icd = _str(spec.get("icd10"), f"{where}.icd10")
        if icd and not re.fullmatch(r"[A-Z]\d{2}(?:\.\d{1,3})?", icd):
            raise ConfigError(f"{where}.icd10: {icd!r} is not an ICD-10 code such as 'M17' or 'M70.6'")
        cur = terms.get(tid)
        if cur is None:
            es, en = _str(spec.get("label_es"), f"{where}.label_es"), _str(spec.get("label_en"), f"{where}.label_en")
            if not (es or en):
                raise ConfigError(f"{where}: a new term needs label_es or label_en")
            terms[tid] = Term(tid, es or en or tid, en or es or tid, tuple(dict.fromkeys(syns + tuple(x for x in (es, en) if x))),
                              icd, category=_str(spec.get("category"), f"{where}.category"))
        else:
            terms[tid] = replace(
                cur, synonyms=tuple(dict.fromkeys(cur.synonyms + syns)),
                label_es=_str(spec.get("label_es"), f"{where}.label_es") or cur.label_es,
                label_en=_str(spec.get("label_en"), f"{where}.label_en") or cur.label_en,
                icd10=icd or cur.icd10, category=_str(spec.get("category"), f"{where}.category") or cur.category)
    return tuple(terms.values())


def _merge_measures(base: tuple[Measure, ...], section: Any, path: str) -> tuple[Measure, ...]:
    if section is None:
        return base
    measures = {m.id: m for m in base}
    for mid, spec, where in _entries(section, "measures", path, r"[A-Z][A-Z0-9_]{1,30}",
                                     "measure ids are upper-case (e.g. 'IKDC')",
                                     {"synonyms", "higher_is_better", "mcid", "range"}):
        syns = _strs(spec.get("synonyms"), f"{where}.synonyms")
        rng = spec.get("range")
        if rng is not None and (not isinstance(rng, list) or len(rng) != 2
                                or not all(isinstance(x, int | float) for x in rng) or rng[0] >= rng[1]):
            raise ConfigError(f"{where}.range: must be [low, high] with low < high")
        hib = spec.get("higher_is_better")
        if hib is not None and not isinstance(hib, bool):
            raise ConfigError(f"{where}.higher_is_better: must be true or false")
        mcid = spec.get("mcid")
        if mcid is not None and not isinstance(mcid, int | float):
            raise ConfigError(f"{where}.mcid: must be a number")
        cur = measures.get(mid)
        if cur is None:
            if rng is None or hib is None:
                raise ConfigError(f"{where}: a new measure needs range = [low, high] and higher_is_better")
            measures[mid] = Measure(mid, syns or (mid.lower(),), hib, float(mcid or 0.0), float(rng[0]), float(rng[1]))
        else:
            measures[mid] = replace(
                cur, synonyms=tuple(dict.fromkeys(cur.synonyms + syns)),
                higher_is_better=cur.higher_is_better if hib is None else hib,
                mcid=cur.mcid if mcid is None else float(mcid),
                low=cur.low if rng is None else float(rng[0]), high=cur.high if rng is None else float(rng[1]))
    return tuple(measures.values())


def _merge(base: Vocabulary, data: dict[str, Any], path: str) -> Vocabulary:
    return Vocabulary(_merge_terms(base.diagnoses, data.get("diagnoses"), "diagnoses", path),
                      _merge_terms(base.treatments, data.get("treatments"), "treatments", path),
                      _merge_measures(tuple(base.measures.values()), data.get("measures"), path))


# -- the built-in vocabulary, as module functions (the names every stage already uses) ------------------------------


def find_diagnoses(text: str) -> list[str]:
    """Canonical diagnosis ids mentioned in text (words or ICD-10 codes), in order of first mention."""
    return BUILTIN.find_diagnoses(text)


def find_treatments(text: str) -> list[str]:
    """Canonical treatment ids mentioned in text, in order of first mention."""
    return BUILTIN.find_treatments(text)


def treatment_id(label: str) -> str | None:
    """Map a clinic's own treatment label (a table cell) to a canonical id."""
    return BUILTIN.treatment_id(label)


def diagnosis_id(label: str) -> str | None:
    return BUILTIN.diagnosis_id(label)


def diagnosis_from_icd10(code: str) -> str | None:
    return BUILTIN.diagnosis_from_icd10(code)


def measure_id(label: str) -> str | None:
    return BUILTIN.measure_id(label)


def label(term_id: str, language: str = "en") -> str:
    return BUILTIN.label(term_id, language)


def icd10_of(diagnosis: str) -> str | None:
    return BUILTIN.icd10_of(diagnosis)


def category_of(treatment: str) -> str | None:
    return BUILTIN.category_of(treatment)
