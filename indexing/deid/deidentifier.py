"""De-identify clinical text and tables before anything is embedded, stored, logged or sent to a model.

Detection: Presidio's analyzer with spaCy NER (es, en) and Casewise's rules (`patterns`, `dates`), then filters that
keep clinical words (allow list, lexicon) and a pass that finds every other mention of a detected name in the same note.
Replacement (Presidio's anonymizer with Casewise operators):
- names -> "[NOMBRE_n]" / "[PERSON_n]", the same n for the same name string of the same patient;
- the patient's own record number -> their keyed pseudonym; any other identifier -> "[ID]";
- dates -> shifted by the patient's secret offset in their original format (placeholder "[FECHA]"/"[DATE]" when no
  patient is known or the string is not a valid date);
- ages over 89 -> "90+"; phones, emails, URLs, IPs, addresses, postal codes, places, institutions -> typed placeholders.

`patient_key` is the patient's raw record identifier as linking found it (the same value given to `pseudonym`).
Nothing here logs or raises with patient data; spans carry offsets and types only.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from casewise.errors import CasewiseError
from casewise.lang import detect_language
from indexing.deid import gazetteer, keys
from indexing.deid.dates import find_dates, shift_date_text
from indexing.deid.lexicon import (
    COUNTRIES,
    COUNTRY_NAMES,
    GIVEN_NAMES,
    KINSHIP,
    PLACES,
    fold,
    is_eponym,
    is_not_name_word,
)
from indexing.deid.name_sex import patient_name_sex
from indexing.deid.patterns import address_block_tail
from indexing.deid.types import DeidResult, PhiSpan

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult
    from presidio_anonymizer import AnonymizerEngine

    from casewise.settings import DeidSettings

log = logging.getLogger(__name__)

ALL_ENTITIES = ("PERSON", "ID", "PHONE", "EMAIL", "URL", "IP", "ADDRESS", "POSTAL_CODE", "LOCATION", "DATE",
                "AGE_OVER_89", "INSTITUTION")
DEFAULT_BATCH_SIZE = 32
_SPACY = "SpacyRecognizer"

PLACEHOLDERS: dict[str, dict[str, str]] = {
    "es": {"PERSON": "NOMBRE", "ID": "ID", "PHONE": "TELEFONO", "EMAIL": "EMAIL", "URL": "URL", "IP": "IP",
           "ADDRESS": "DIRECCION", "POSTAL_CODE": "CP", "LOCATION": "LUGAR", "DATE": "FECHA",
           "INSTITUTION": "CENTRO"},
    "en": {"PERSON": "PERSON", "ID": "ID", "PHONE": "PHONE", "EMAIL": "EMAIL", "URL": "URL", "IP": "IP",
           "ADDRESS": "ADDRESS", "POSTAL_CODE": "ZIP", "LOCATION": "LOCATION", "DATE": "DATE",
           "INSTITUTION": "INSTITUTION"},
}
_PARTICLES = frozenset(["de", "del", "la", "las", "los", "y", "i", "van", "von", "da", "di", "do", "dos", "das", "le", "el", "du", "den", "der"])
_CUE_BEFORE = re.compile(
    r"(?i:\b(?:dr|dra|doctor|doctora|sr|sra|srta|d|dña|don|doña|mr|mrs|ms|miss|paciente|llamad[oa]|named|"
    + "|".join(sorted(KINSHIP)) + r"))\.?,?[ \t]+(?:\w+[ \t]+)?$"
)
_TRIM = " \t\r\n.,;:-–[]\"'"
_NAME_GAP = re.compile(r"\n|\r|\t|  ")
# Rules where a label or a title says the value is a name (a weaker filter applies to their words).
_STRONG_NAME_RULES = frozenset({"casewise_name_label", "casewise_pro_label", "casewise_pro_title", "casewise_signed",
                                "casewise_signature", "casewise_salutation"})
# Rules where a title says the value is a person's name ("Mrs. Baker", "Dr. Harris"): an allowed eponym is a surname there.
_TITLED_NAME_RULES = frozenset({"casewise_person_title", "casewise_pro_title"})
_GAZETTEER = "casewise_gazetteer"
_WORD = re.compile(r"[\w'’´]+")


class DeidError(CasewiseError):
    """De-identification cannot run as configured (missing model package, bad settings, unknown column role)."""


class Deidentifier:
    """Finds and replaces PHI in Spanish and English notes and tables; analyzers are built on first use, once."""

    def __init__(self, settings: DeidSettings, *, date_order: str = "auto") -> None:
        self._date_order = date_order  # numeric dates read as extraction reads them (extract.date_order)
        secret = settings.secret.get_secret_value()
        if not secret:
            raise DeidError("deid.secret is empty: set the clinic secret (CASEWISE_DEID__SECRET)")
        self.settings = settings
        self._secret = secret.encode("utf-8")
        self._max_shift = int(getattr(settings, "max_date_shift_days", 180))
        self._allow = {fold(w) for w in getattr(settings, "allow_list", [])}
        entities = set(getattr(settings, "entities", ALL_ENTITIES))
        if getattr(settings, "remove_institutions", True):
            entities.add("INSTITUTION")
        else:
            entities.discard("INSTITUTION")
        unknown = entities - set(ALL_ENTITIES)
        if unknown:
            raise DeidError(f"deid.entities has unknown types {sorted(unknown)}; valid: {list(ALL_ENTITIES)}")
        self.entities: frozenset[str] = frozenset(entities)
        self._remove_professionals = bool(getattr(settings, "remove_professionals", True))
        # the clinic's own list of institution names and acronyms (deid.institutions, where the settings have it)
        self._institutions = tuple(str(x) for x in getattr(settings, "institutions", []) or [] if str(x).strip())
        self._shift_dates = bool(getattr(settings, "shift_dates", True))
        self._analyzer: AnalyzerEngine | None = None
        self._anonymizer: AnonymizerEngine | None = None
        self._lock = threading.Lock()

    # ---- keys -------------------------------------------------------------------------------------------------
    def pseudonym(self, patient_id: str) -> str:
        """Keyed pseudonym "PT-XXXXXXXXXX" of a patient id: stable across runs, irreversible without the secret."""
        return keys.pseudonym(self._secret, patient_id)

    def date_offset_days(self, patient_key: str) -> int:
        """The patient's secret date offset in [-max_date_shift_days, +max_date_shift_days], never 0."""
        return keys.date_offset_days(self._secret, patient_key, self._max_shift)

    def shift_date(self, d: dt.date, patient_key: str) -> dt.date:
        """`d` moved by the patient's offset (intervals between a patient's dates are kept)."""
        return d + dt.timedelta(days=self.date_offset_days(patient_key))

    # ---- engines ------------------------------------------------------------------------------------------------
    def _engines(self) -> tuple[AnalyzerEngine, AnonymizerEngine]:
        with self._lock:
            if self._analyzer is None or self._anonymizer is None:
                # engine first: it loads spaCy and Presidio without torch and transformers (deid.nlp_imports)
                from indexing.deid.engine import ModelNotInstalledError, build_analyzer  # noqa: I001 - this order

                from presidio_anonymizer import AnonymizerEngine

                try:
                    self._analyzer = build_analyzer()
                except ModelNotInstalledError as exc:
                    raise DeidError(str(exc)) from exc
                self._anonymizer = AnonymizerEngine()
            return self._analyzer, self._anonymizer

    # ---- text ---------------------------------------------------------------------------------------------------
    def deidentify(self, text: str, *, patient_key: str | None = None, language: str | None = None) -> DeidResult:
        """De-identify one note; `language` None guesses es/en."""
        return self.deidentify_many([text], patient_keys=[patient_key], language=language)[0]

    def deidentify_many(
        self,
        texts: Iterable[str],
        *,
        patient_keys: Sequence[str | None] | str | None = None,
        language: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[DeidResult]:
        """De-identify many notes, running spaCy in batches (nlp.pipe) per language.

        `patient_keys`: one per text, or one for all, or None.
        """
        items = list(texts)
        if patient_keys is None or isinstance(patient_keys, str):
            pkeys: list[str | None] = [patient_keys] * len(items)
        else:
            pkeys = list(patient_keys)
            if len(pkeys) != len(items):
                raise DeidError(f"deidentify_many got {len(items)} texts but {len(pkeys)} patient keys")
        if language is not None and language not in PLACEHOLDERS:
            raise DeidError(f"language must be one of {sorted(PLACEHOLDERS)} or None, not {language!r}")
        analyzer, anonymizer = self._engines()
        langs = [language or detect_language(t) for t in items]
        results: list[DeidResult | None] = [None] * len(items)
        entities = sorted(self.entities | {"PROFESSIONAL"})
        for lang in PLACEHOLDERS:
            idx = [i for i, l in enumerate(langs) if l == lang and items[i].strip()]
            if not idx:
                continue
            batch = analyzer.nlp_engine.process_batch([items[i] for i in idx], language=lang, batch_size=batch_size)
            for i, (_, artifacts) in zip(idx, batch):
                found = analyzer.analyze(items[i], language=lang, entities=entities, nlp_artifacts=artifacts)
                spans = self._select(items[i], found, lang)
                res = self._replace(items[i], spans, lang, pkeys[i], anonymizer)
                res.name_sex = patient_name_sex(items[i], spans)  # read here: the name is gone from res.text
                results[i] = res
        return [r if r is not None else DeidResult(items[i], []) for i, r in enumerate(results)]

    # ---- detection post-processing --------------------------------------------------------------------------------
    def _select(self, text: str, found: list[RecognizerResult], lang: str) -> list[PhiSpan]:
        """Filter, extend and merge analyzer results into non-overlapping spans."""
        cands: list[tuple[int, int, str, float]] = []
        professionals: list[tuple[int, int]] = []
        spacy_locations: list[tuple[int, int, str, float]] = []
        for r in found:
            start, end = _trim(text, r.start, r.end)
            if end <= start:
                continue
            etype = r.entity_type
            source = (r.recognition_metadata or {}).get("recognizer_name", "")
            pieces = [(start, end)]
            if etype in ("PERSON", "PROFESSIONAL"):
                # spaCy's span may take in a heading, a label or a title before the name ("Nota de seguimiento:
                # Paciente Tomás Ibarra Gil"); it also hides, for Presidio, the rule's exact span inside it
                pieces = _name_pieces(text, start, end) if source in (_SPACY, _GAZETTEER) \
                    else [_trim(text, start, _name_end(text, start, end))]
            for start, end in pieces:
                kind = etype
                if kind in ("PERSON", "PROFESSIONAL"):
                    if source in (_SPACY, _GAZETTEER):
                        if not self._spacy_name_ok(text, start, end, lang, gazetteer=source == _GAZETTEER) \
                                or _has_acronym(text[start:end]):
                            continue
                    elif not self._rule_name_ok(text[start:end], strong=source in _STRONG_NAME_RULES,
                                                titled=source in _TITLED_NAME_RULES) \
                            or (source == "casewise_caps_listed" and not _listed_name_ok(text[start:end])):
                        continue
                elif (source == _SPACY and not self._spacy_other_ok(text, start, end, kind)) \
                        or (source == _SPACY and kind == "INSTITUTION" and not _organisation_ok(text[start:end], lang)) \
                        or (source == _GAZETTEER and (self._allowed(text[start:end]) or _followed_by_colon(text, end))) \
                        or (kind in ("LOCATION", "ADDRESS") and fold(text[start:end]) in COUNTRIES):
                    continue
                if source in (_SPACY, _GAZETTEER) and _DOSE_AFTER.match(text, end):
                    continue  # "Voltaren gel", "Adiro 100 mg", "Ostenil Plus 2 ml": a drug or a device, not a person
                if source in ("casewise_place_cue", "casewise_place_cue_plain") and (
                        self._allowed(text[start:end]) or is_not_name_word(_WORD.findall(text[start:end])[0])
                        or fold(_WORD.findall(text[start:end])[0]) in gazetteer.COMMON_WORDS
                        or fold(text[start:end]) in gazetteer.stop_words()
                        or (source == "casewise_place_cue_plain" and text[start].islower()
                            and fold(text[start:end]) not in gazetteer.load().places)):  # "I'm in agony"
                    continue
                if kind in ("PERSON", "LOCATION") and is_eponym(text, start, end) \
                        and not _PERSON_TITLE_BEFORE.search(text, max(0, start - 12), start):
                    continue  # "quiste de Baker", "Parkinson's disease", "Osgood-Schlatter": clinical, not a person
                    # ("Mrs. Baker", "Dr. Crohn": a title says it is one)
                if kind == "PROFESSIONAL":
                    if not self._remove_professionals:
                        professionals.append((start, end))
                        continue
                    kind = "PERSON"
                if kind not in self.entities:
                    continue
                if source == _SPACY and kind == "LOCATION" and lang == "es":
                    # Spanish sm NER tags many capitalised clinical words as LOC: keep them only near an address
                    spacy_locations.append((start, end, kind, float(r.score)))
                    continue
                cands.append((start, end, kind, float(r.score)))
        contact = [c for c in cands if c[2] in ("ADDRESS", "POSTAL_CODE", "LOCATION", "PHONE", "EMAIL")]
        places = gazetteer.load().places
        for loc in spacy_locations:
            value = text[loc[0]:loc[1]]
            if fold(value) in PLACES or fold(value) in places \
                    or any(abs(c[0] - loc[1]) < 60 or abs(loc[0] - c[1]) < 60 for c in contact):
                cands.append(loc)
        for c in _street_line_ends(text, cands):
            if c not in cands:
                cands.append(c)
            for s, e in address_block_tail(text, c[1]):
                words = re.findall(r"[^\W\d_]+", text[s:e])
                if not words or (not all(is_not_name_word(w) for w in words)  # a line of digits is a postal code
                                 and not any(fold(w) in gazetteer.CLINICAL_WORDS for w in words)):  # "EVA 7"
                    cands.append((s, e, "ADDRESS", 0.6))
        for c in [c for c in cands if c[2] == "ADDRESS"]:
            before = _NUMBERS_BEFORE.search(text, max(0, c[0] - 16), c[0])  # "lives at 79063 63 Rue de Kairouan"
            if before and before.start() > 0 and not text[before.start() - 1].isalnum():
                cands.append((before.start(), c[0], "ADDRESS", 0.6))
            m = _TOWN_AFTER_STREET.match(text, c[1])  # "lives at 333 Golfskálinn 78, Borgarnes": the town ends the line
            if m:
                town = m.group("t")
                words = _WORD.findall(town)
                lower_ok = text[c[0]:c[1]].lower() == text[c[0]:c[1]]  # an address written all in lower case
                if words and fold(town) not in COUNTRIES and not is_not_name_word(words[0]) \
                        and fold(words[0]) not in gazetteer.stop_words() \
                        and all(w[0].isupper() or lower_ok or len(w) == 1 for w in words):
                    cands.append((m.start("t"), m.end("t"), "LOCATION", 0.6))
        for c in [c for c in cands if c[2] in ("LOCATION", "ADDRESS")]:
            m = _CODE_AFTER_PLACE.match(text, c[1])  # "ASKER nan 1386", "Wrocław 53-320": the town's postal code
            if m and not _YEAR.fullmatch(m.group("cp")):
                cands.append((m.start("cp"), m.end("cp"), "POSTAL_CODE", 0.7))
        if professionals:
            cands = [c for c in cands if not (c[2] == "PERSON" and any(c[0] < e and s < c[1] for s, e in professionals))]
        if "PERSON" in self.entities:
            cands.extend(self._propagate_names(text, [c for c in cands if c[2] == "PERSON"], professionals))
        if "INSTITUTION" in self.entities:
            cands.extend(_institution_acronyms(text, cands, self._institutions))
        if "DATE" in self.entities or "AGE_OVER_89" in self.entities:
            cands = _birth_dates_over_89(text, cands)
        cands.extend(_joins(text, cands))
        cands = [c for c in (_without_department(text, c) for c in cands) if c is not None]
        return _merge(cands)

    def _allowed(self, value: str) -> bool:
        """A value with an allowed clinical word ("Thompson" test, "Baker") and no given name beside it: "Edward
        Thompson (son)" is a person."""
        words = [fold(w) for w in _WORD.findall(value)]
        if not any(w in self._allow for w in words):
            return False
        given = gazetteer.load().given
        return not any(w not in self._allow and (w in given or w in GIVEN_NAMES) for w in words)

    def _rule_name_ok(self, value: str, *, strong: bool = False, titled: bool = False) -> bool:
        """A name found by a rule. After a label or a title ("Apellidos:", "Dra.") a surname that is also a word
        ("Domingo", "Días", "Eva") is still a name: only a value made of clinical or allowed words alone is not.
        After a title ("Mrs. Baker", "Dr. Harris") an allowed eponym is a surname too."""
        words = [w for w in _WORD.findall(value) if fold(w) not in _PARTICLES]
        if titled:
            words = [w for w in words if len(w) > 1]
            return bool(words) and not all(is_not_name_word(w) and fold(w) not in GIVEN_NAMES
                                           and fold(w) not in self._allow for w in words)
        if strong:
            words = [w for w in words if len(w) > 1]  # initials: "Dr. A. Parente"
            return bool(words) and not all((is_not_name_word(w) and fold(w) not in GIVEN_NAMES) or fold(w) in self._allow
                                           for w in words)  # "Nombre: Julio." is a name, not the month
        if not words or self._allowed(value):
            return False
        return not is_not_name_word(words[0]) and not all(is_not_name_word(w) for w in words)

    def _spacy_name_ok(self, text: str, start: int, end: int, lang: str, *, gazetteer: bool = False) -> bool:
        value = text[start:end]
        if any(ch.isdigit() for ch in value) or self._allowed(value) or _followed_by_colon(text, end) \
                or text[start - 1:start] == "/":  # "133 mmol/L. Recibía": a unit, not an initial
            return False
        words = _WORD.findall(value)
        names = [w for w in words if fold(w) not in _PARTICLES]
        before = _WORD.findall(text[max(0, start - 30):start])
        if len(before) >= 2 and fold(before[-1]) in ("de", "del", "of") and before[-2].islower() \
                and fold(before[-2]) not in KINSHIP:
            return False  # "enfermedad de Behcet", "técnica de Anderson-Hynes": eponyms, not people
        if not names or any(not w[0].isupper() for w in names):
            return False
        if any(is_not_name_word(w) for w in names):
            return False
        if len(names) == 1:
            w = names[0]
            if w.isupper() and len(w) <= 5:
                return False
            if fold(w) in GIVEN_NAMES or lang == "en" or gazetteer:
                return True
            return bool(_CUE_BEFORE.search(text[max(0, start - 40):start]))
        return True

    def _spacy_other_ok(self, text: str, start: int, end: int, etype: str) -> bool:
        value = text[start:end]
        if self._allowed(value) or _followed_by_colon(text, end) or fold(value) in COUNTRIES:
            return False
        words = [w for w in _WORD.findall(value) if fold(w) not in _PARTICLES]
        if not words or not words[0][0].isupper() or any(is_not_name_word(w) for w in words):
            return False
        if len(words) == 1 and words[0].isupper() and len(words[0]) <= 5:
            return False
        return etype != "LOCATION" or not any(ch.isdigit() for ch in value)

    def _propagate_names(
        self, text: str, persons: list[tuple[int, int, str, float]], professionals: list[tuple[int, int]]
    ) -> list[tuple[int, int, str, float]]:
        """Every other mention of a detected name's words (a surname alone later in the note)."""
        words: set[str] = set()
        for start, end, _, _ in persons:
            for w in _WORD.findall(text[start:end]):
                if len(w) >= 3 and w[0].isupper() and fold(w) not in _PARTICLES and not is_not_name_word(w) \
                        and fold(w) not in self._allow:
                    words.add(w)
        out: list[tuple[int, int, str, float]] = []
        for w in words:
            for m in re.finditer(rf"(?<![\w'’´]){re.escape(w)}(?![\w'’´])", text):
                if not any(m.start() < e and s < m.end() for s, e in professionals):
                    out.append((m.start(), m.end(), "PERSON", 0.5))
        return out

    # ---- replacement --------------------------------------------------------------------------------------------
    def _replace(self, text: str, spans: list[PhiSpan], lang: str, patient_key: str | None,
                 anonymizer: AnonymizerEngine) -> DeidResult:
        from presidio_analyzer import RecognizerResult
        from presidio_anonymizer.entities import OperatorConfig

        names = PLACEHOLDERS[lang]
        own_id = keys.normalize_id(patient_key) if patient_key else None
        offset = self.date_offset_days(patient_key) if patient_key and self._shift_dates else None
        ptag = keys.tag(self._secret, "patient", own_id or "")

        def person(value: str) -> str:
            # Stateless, keyed surrogate: the same name of the same patient always gets the same placeholder, in any
            # document, in any run, in any order (so an incremental re-index equals a clean rebuild).
            norm = keys.normalize_name(value)
            code = keys.tag(self._secret, "name", ptag + "\x1f" + norm)[:4].upper()
            return f"[{names['PERSON']}_{code}]"

        def ident(value: str) -> str:
            if own_id and keys.normalize_id(value) == own_id:
                return self.pseudonym(value)
            return f"[{names['ID']}]"

        def date(value: str) -> str:
            if offset is not None:
                matches = find_dates(value)
                if len(matches) == 1 and matches[0].start == 0 and matches[0].end == len(value):
                    shifted = shift_date_text(value, matches[0].kind, offset, lang, self._date_order)
                    if shifted is not None:
                        return shifted
            return f"[{names['DATE']}]"

        def fixed(label: str) -> Any:
            return lambda _value: label

        operators: dict[str, OperatorConfig] = {
            "PERSON": OperatorConfig("custom", {"lambda": person}),
            "ID": OperatorConfig("custom", {"lambda": ident}),
            "DATE": OperatorConfig("custom", {"lambda": date}),
            "AGE_OVER_89": OperatorConfig("custom", {"lambda": fixed("90+")}),
            BIRTH_OVER_89: OperatorConfig("custom", {"lambda": fixed(f"[{names['DATE']}]")}),
        }
        for etype in ALL_ENTITIES:
            operators.setdefault(etype, OperatorConfig("custom", {"lambda": fixed(f"[{names.get(etype, etype)}]")}))
        if not spans:
            return DeidResult(text, [])
        for s in spans:  # number names in order of first appearance, not in the anonymizer's (reverse) order
            if s.type == "PERSON":
                person(text[s.start:s.end])
        results = [RecognizerResult(s.type, s.start, s.end, 1.0) for s in spans]
        out = anonymizer.anonymize(text, results, operators=operators, merge_entities_with_spaces=False)  # type: ignore[arg-type]  # analyzer's and anonymizer's RecognizerResult: same fields
        return DeidResult(out.text, [PhiSpan("DATE", s.start, s.end) if s.type == BIRTH_OVER_89 else s for s in spans])


# A date of birth: "DOB:", "D.O.B.", "F. nac.:", "Fecha de nacimiento:", "born (on|in)", "nacido el", "Birth date:".
_BIRTH_CUE = re.compile(
    r"(?i:\b(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|born(?:\s+(?:on|in))?|f\.?\s*(?:de\s+)?nac(?:\.|imiento)?|"
    r"fecha\s+(?:de\s+)?nacimiento|nacid[oa](?:\s+(?:el|en))?(?:\s+(?:el\s+)?año)?|año\s+de\s+nacimiento|"
    r"year\s+of\s+birth|f\.?\s*n\.?))[ \t]*[:.]?[ \t]*$")
_BARE_YEAR = re.compile(r"\b(?:18|19|20)\d{2}\b")
BIRTH_OVER_89 = "BIRTH_DATE_OVER_89"  # internal: a date of birth that reveals an age over 89 (placeholder, not shifted)


def _birth_dates_over_89(text: str, cands: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Dates of birth that would reveal an age over 89 are not shifted but removed, and so is a bare birth year
    ("born in 1928"): HIPAA Safe Harbor counts every date element that indicates such an age."""
    ref = dt.date.today().year  # read today, a birth 90 years ago reveals an age over 89, whenever the note was written
    over_89 = any(c[2] == "AGE_OVER_89" for c in cands)
    out: list[tuple[int, int, str, float]] = []
    dated = [c for c in cands if c[2] == "DATE"]
    for c in cands:
        if c[2] == "DATE" and _BIRTH_CUE.search(text[max(0, c[0] - 30):c[0]]):
            ys = [int(y) for y in _BARE_YEAR.findall(text[c[0]:c[1]])]
            if over_89 or (ys and ref - ys[0] >= 90):
                out.append((c[0], c[1], BIRTH_OVER_89, c[3]))
                continue
        out.append(c)
    for m in _BARE_YEAR.finditer(text):
        if any(d[0] <= m.start() < d[1] for d in dated):
            continue
        if _BIRTH_CUE.search(text[max(0, m.start() - 30):m.start()]) and (over_89 or ref - int(m.group()) >= 90):
            out.append((m.start(), m.end(), BIRTH_OVER_89, 0.9))
    return out


_ACRONYM_IN_PARENS = re.compile(r"\([ \t]*([A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ0-9\-]{1,11})[ \t]*\)")


_ADDRESS_KINDS = ("ADDRESS", "POSTAL_CODE", "LOCATION")
_HOUSE_NUMBER_AT_END = re.compile(r"[ \t,]*(\d{1,5}[A-Za-z]?)[ \t.,]*(?=\n)")


def _street_line_ends(text: str, cands: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """The candidates an address block may go on after: every street, and the last of two or more address parts on
    one line ("03751 Gerrit Achterberghove 137": a postal code, a place, a number, and no street type)."""
    out = [c for c in cands if c[2] == "ADDRESS"]
    by_line: dict[int, list[tuple[int, int, str, float]]] = {}
    for c in cands:
        if c[2] in _ADDRESS_KINDS:
            by_line.setdefault(text.rfind("\n", 0, c[0]), []).append(c)
    for parts in by_line.values():
        if len(parts) >= 2 and any(c[2] != "LOCATION" for c in parts):  # two places alone make no street line
            last = max(parts, key=lambda c: c[1])
            number = _HOUSE_NUMBER_AT_END.match(text, last[1])  # the house number that ends the line is the street's
            out.append((number.start(1), number.end(1), "ADDRESS", 0.6) if number else last)
    return out


def _institution_acronyms(text: str, cands: list[tuple[int, int, str, float]],
                          known: Sequence[str]) -> list[tuple[int, int, str, float]]:
    """Every mention of an institution's acronym that the note defines after its name ("Hospital Universitario La
    Paz (HULP) ... el HULP"), and of the clinic's own list of names and acronyms."""
    names = set(known)
    for c in cands:
        if c[2] == "INSTITUTION":
            names.update(_ACRONYM_IN_PARENS.findall(text[c[0]:c[1]]))
    out: list[tuple[int, int, str, float]] = []
    for name in names:
        flags = 0 if name.isupper() else re.IGNORECASE
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, flags):
            out.append((m.start(), m.end(), "INSTITUTION", 0.8))
    return out


_CODE_AFTER_PLACE = re.compile(r"[ \t]*,?[ \t]*(?:nan[ \t]+)?(?P<cp>\d{3,5}(?:-\d{3,4})?|\d{3}[ \t]\d{2}|\d{2}-\d{3})(?![\w,/-]|[.,]\d)"
                               r"(?![ \t]*(?i:mg|ml|km|m|cm|kg|g|h|años|years?|days?|d[ií]as|%|veces|times)\b)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_COUNTRY_ALT = "|".join(re.escape(c) for c in sorted(COUNTRY_NAMES, key=len, reverse=True))
# the town after a street line, at the end of the line or before the country ("Apt. 105, ISHAM, United Kingdom")
_TOWN_AFTER_STREET = re.compile(r",[ \t]*(?P<t>[^\W\d_][\w'’\-]*(?:[ \t]+[^\W\d_][\w'’\-]*){0,3}?)[ \t]*"
                                rf"(?=$|\n|[.;]|\?|,[ \t]*(?i:{_COUNTRY_ALT})\b)", re.MULTILINE)
_NUMBERS_BEFORE = re.compile(r"(?:\d{1,6}[ \t]+){1,2}$")
# What follows a drug's or a device's name: a dose or a pharmaceutical form.
_DOSE_AFTER = re.compile(
    r"[ \t]*(?:\d+(?:[.,]\d+)?[ \t]*(?:mg|mcg|µg|ug|g|ml|mL|cc|UI|IU|U|mmol|%)(?![\w])|"
    r"(?i:gel|crema|cream|ointment|pomada|comprimidos?|tablets?|tabs?|c[áa]psulas|capsules?|caps|sobres?|ampollas?|"
    r"viales?|spray|parches?|patch(?:es)?|jarabe|syrup|inhaler|inhalador|colirio|drops|gotas|retard|forte|plus|depot)\b)")
# Words that make a Spanish organisation: spaCy's small Spanish model tags drugs, tests and headings as ORG
# ("Vancomicina", "Western Blot", "Cuidados Paliativos"); an institution names its kind ("Hospital ...", "... S.A.").
_ORG_WORDS = frozenset(fold(w) for w in """
hospital hospitales hopital hôpital ospedale clinica clínica policlinica sanatorio centro complejo complexo fundacion
fundació universidad universitat universitaria universitario university facultad escuela instituto institut institute
residencia mutua mutualidad consultorio asociacion asociación sociedad laboratorio laboratorios juzgado palacio
ministerio consejeria consejería conselleria servicio-de-salud colegio academia
sa s.a. sl s.l. slu inc ltd llc gmbh ag corp corporation company co scientific pharma pharmaceuticals healthcare
farmaceutica farmacéutica medical instruments technologies
""".split())


def _organisation_ok(value: str, lang: str) -> bool:
    """An organisation spaCy found: never with a digit ("FC 72", "K-L 4", "M72.2"); in Spanish, only one that names
    its kind (a hospital, a university, a company's legal form)."""
    if any(ch.isdigit() for ch in value):
        return False
    if lang != "es":
        return True
    return any(fold(w.rstrip(".")) in _ORG_WORDS or fold(w) in _ORG_WORDS for w in re.findall(r"[\w.]+", value))


def _has_acronym(value: str) -> bool:
    """A short word in capitals beside the others ("AH IA", "Injected CSI"): a treatment or a test, not a name."""
    gaz = gazetteer.load()
    return any(w.isupper() and len(w) <= 4 and fold(w) not in gaz.surnames and fold(w) not in gaz.given
               for w in _WORD.findall(value) if len(w) > 1)


def _listed_name_ok(value: str) -> bool:
    """'O'BRIEN, William' outside a label: the word after the comma is a known given name written as one
    (not 'VIH, Sífilis' or 'ANA, ANCA', lists of tests)."""
    surname, _, given = value.partition(",")
    first = _WORD.findall(given)[:1]
    gaz = gazetteer.load()
    return bool(first) and not first[0].isupper() and fold(first[0]) in (gaz.given | GIVEN_NAMES) \
        and len(re.sub(r"[^\w]", "", surname)) >= 3


_PERSON_TITLE_BEFORE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Dra|Sr|Sra|Srta|Prof|Profa)\.?|\b(?:Don|Doña|Dña)\.?)[ \t]+$")
# What may stand between two parts of one name: a middle initial in capitals ("Martim A Pereira"; not "I" or "Y",
# which are words), a particle ("Willemine ten Pas", "Črni Vrh nad Idrijo", "Soto del Barco"; not "y" or "en",
# which join two names or a name and a place). Between two detected parts, it is part of the name.
_PERSON_GAP = re.compile(r"[ \t]+(?:[A-HJ-XZ]\.?|(?:de|del|la|las|los|van|von|der|den|ten|ter|da|do|dos|di|du|le)"
                         r"(?:[ \t]+(?:la|las|los|der|den))?)[ \t]+")
_PLACE_GAP = re.compile(r"[ \t]+(?:de|del|la|las|los|el|da|do|dos|das|di|du|des|nad|pod|upon|sur|sous|ob|bei)"
                        r"(?:[ \t]+(?:la|las|los|der|den|le|les))?[ \t]+")


# A hospital's department ("Servicio de Urología", "Unidad de Nutrición Clínica y Dietética") names a specialty, not
# a place or a patient: a model's organisation span that takes it in beside the hospital's name keeps only the name.
# A regional health service ("Servicio Vasco de Salud") is an institution itself. A contact label after the name
# ("E-mail", "Correo", "Tfno.") is no part of it.
_DEPARTMENT = re.compile(
    r"(?:Servicio|Unidad|Secci[oó]n|Departamento|Dpto\.|Área)(?:[ \t]+(?:de|del|de[ \t]+la))?"
    r"(?![ \t]+(?:Andaluz|Madrileño|Vasco|Gallego|Navarro|Canario|Aragonés|Cántabro|Castellano|Murciano|Riojano|"
    r"Extremeño|Balear|Valenciano|Catalán|Asturiano)\b)"
    r"(?:[ \t]+(?:y|e|de|del|la|las)?[ \t]*(?!Hospital|Complejo|Cl[ií]nica\b|Universidad|Facultad|Instituto|Centro|"
    r"Fundaci[oó]n|Consorcio)[A-ZÁÉÍÓÚ][\w\-]+)+")
_CONTACT_LABEL_END = re.compile(r"[ \t]+(?:E-?mail|Email|Correo(?:[ \t]+electr[oó]nico)?|Tfno|Tlf|Tel|Teléfono)\.?[ \t]*$")


def _without_department(text: str, c: tuple[int, int, str, float]) -> tuple[int, int, str, float] | None:
    """An institution candidate less a department at its start or end and a contact label at its end; None when
    only a department is left."""
    if c[2] != "INSTITUTION":
        return c
    s, e = c[0], c[1]
    m = _CONTACT_LABEL_END.search(text, s, e)
    if m:
        e = m.start()
    for m in _DEPARTMENT.finditer(text, s, e):
        if m.start() == s:
            rest = re.match(r"[ \t]+", text[m.end():e])
            s = m.end() + (rest.end() if rest else 0)
        elif m.end() == e or not text[m.end():e].strip():
            e = m.start()
        else:
            continue
    s, e = _trim(text, s, e)
    if e <= s or not re.search(r"[^\W\d_]{2,}", text[s:e]):
        return None
    return (s, e, c[2], c[3])


def _joins(text: str, cands: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """The initial or particle between two detected parts of one name, and between two parts of one place."""
    out: list[tuple[int, int, str, float]] = []
    # a person's part on the left; on the right a part that may have been read as a place ("Martim A Pereira").
    # The join spans both parts, so that they merge into one name of the left part's kind.
    for left, right, gap_re in ((("PERSON",), ("PERSON", "LOCATION"), _PERSON_GAP),
                                (("LOCATION", "ADDRESS"), ("LOCATION", "ADDRESS"), _PLACE_GAP)):
        ends: dict[int, tuple[int, str]] = {c[1]: (c[0], c[2]) for c in cands if c[2] in left}
        starts: dict[int, int] = {c[0]: c[1] for c in cands if c[2] in right}
        for e, (s, kind) in ends.items():
            m = gap_re.match(text, e)
            if m and m.end() in starts and "\n" not in m.group():
                out.append((s, starts[m.end()], kind, 0.5))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start] in _TRIM or (text[start] == "(" and ")" not in text[start:end])):
        start += 1
    while end > start and (text[end - 1] in _TRIM or (text[end - 1] == ")" and "(" not in text[start:end])):
        # keep the period of an abbreviation or initial ("Avda.", "J.") that is part of the span
        if text[end - 1] == "." and end - start >= 2 and (text[end - 2].isupper() or text[start:end].count(".") > 1):
            break
        end -= 1
    return start, end


# Words that announce a name and that spaCy often takes into the name's span: a label, a title, a relative.
_LEAD_CUE = re.compile(
    r"(?:[*_#>\-]+[ \t]*)?(?i:(?:paciente|patient|pte|pac|pt|nombre|name|sr|sra|srta|sres|dña|dª|don|doña|mr|mrs|ms|"
    r"miss|mx|dr|dra|doctor|doctora|prof|profa|" + "|".join(sorted(KINSHIP)) + r")\b)\.?[*_]*[ \t,]+")
_PIECE_BREAK = re.compile(_NAME_GAP.pattern + "|:")  # where a name ends, and a field's label


def _name_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of a model's person span that may be names: split at line breaks, column gaps and colons (a heading,
    a field's label), each without the labels and titles it starts with ("Paciente", "Sra.", "su hija")."""
    out: list[tuple[int, int]] = []
    pos = start
    for brk in [*_PIECE_BREAK.finditer(text, start, end), None]:
        stop = brk.start() if brk else end
        s, e = _trim(text, pos, stop)
        while s < e:
            m = _LEAD_CUE.match(text, s, e)
            if not m:
                break
            s = m.end()
        s, e = _trim(text, s, e)
        if e > s:
            out.append((s, e))
        pos = brk.end() if brk else end
    return out


def _name_end(text: str, start: int, end: int) -> int:
    """A name ends at a line break or a column gap (a tab, two spaces): what follows is the next field."""
    gap = _NAME_GAP.search(text, start, end)
    return gap.start() if gap else end


def _followed_by_colon(text: str, end: int) -> bool:
    return text[end:end + 2].lstrip(" \t")[:1] == ":"


def _merge(cands: list[tuple[int, int, str, float]]) -> list[PhiSpan]:
    """Union of overlapping candidates; a merged span takes the type of its longest (then highest-scoring) member."""
    cands.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    merged: list[PhiSpan] = []
    cur: list[tuple[int, int, str, float]] = []
    cur_end = -1
    for c in cands:
        if cur and c[0] < cur_end:
            cur.append(c)
            cur_end = max(cur_end, c[1])
            continue
        if cur:
            merged.append(_cluster(cur, cur_end))
        cur, cur_end = [c], c[1]
    if cur:
        merged.append(_cluster(cur, cur_end))
    return merged


def _cluster(members: list[tuple[int, int, str, float]], end: int) -> PhiSpan:
    best = max(members, key=lambda c: (c[1] - c[0], c[3]))
    return PhiSpan(best[2], members[0][0], end)
