"""The rules extractor: lexicons (the controlled vocabulary) and patterns for scales, doses, dates and time points.

Fast and offline; Spanish and English. It reads one de-identified note at a time and returns a `NoteExtraction`
with character spans, so a reviewer can see where each fact came from. Where the note does not say which treatment
a score follows, the score is left unattributed and case assembly attributes it when the case has one treatment.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

from casewise import extract
from casewise.general_terms import general_operations
from casewise.lang import detect_language
from casewise.types import Language
from casewise.vocabulary import BUILTIN, Mention, TypoCorrector, Vocabulary, fold, fold_with_offsets
from indexing.extraction.clinical import (
    age_of,
    general_vocabulary,
    heading_items,
    joint_of_osteoarthritis,
    known_words,
    phrase_id,
    sex_of,
    tendon_of_tendinopathy,
)
from indexing.extraction.normalize import (
    NUMBER,
    DateOrder,
    find_dates,
    normalize_dose,
    parse_number,
    sessions_of,
    side_of,
)
from indexing.extraction.schema import (
    AdverseEventItem,
    DiagnosisItem,
    NoteExtraction,
    OutcomeItem,
    TreatmentItem,
)

_NEGATION = re.compile(r"\b(no|sin|niega|without|denies|nor|ningun[oa]?|ni|never|nunca)\b[^.;\n]{0,30}$")
_NO_COMPLICATION = re.compile(r"\b(?:no|none|nil|sin|ninguna?s?|without|denies|negative|uneventful|"
                              r"not|unremarkable|n/a)\b")
# General diagnoses that say less than another one beside them: symptoms, and the unqualified forms of specific ones.
_SYMPTOMS = frozenset({"joint_pain", "low_back_pain", "neck_pain"})
_SUBSUMED: dict[str, frozenset[str]] = {
    **{s: frozenset() for s in _SYMPTOMS},  # beside any diagnosis that is not a symptom
    "osteoarthritis": frozenset({"knee_oa", "hip_oa"}),
    "fracture": frozenset({"hip_fracture", "distal_radius_fracture", "ankle_fracture"}),
    "tendinopathy": frozenset({"achilles_tendinopathy", "patellar_tendinopathy", "rotator_cuff_tendinopathy",
                               "lateral_epicondylitis", "de_quervain", "trigger_finger"}),
}
_NEGATED_START = re.compile(r"(?:no|negative|without|sin|normal|unremarkable|nothing)\b")
# General findings are negated or only suspected more ways than a clinic's own terms ('negative for', 'rule out').
_NEGATED_FINDING = re.compile(
    r"(?:\b(?:no|sin|niega|without|denies|nor|ningun[oa]?|ni|never|nunca|negative for|free of|absence of|"
    r"rule out|r/o|ruled out|rather than|instead of|descartar|descartada?|se descarta|no evidence of|"
    r"ausencia de|versus|vs\.?)\b[^.;:\n]{0,30}|\bor\s+)$")
# 'PT' is physiotherapy only where the context says a treatment (it is also 'patient' and 'prothrombin time'):
# after a plan word or 'after', right after a dated entry ('March 5, 2021: PT'), or with its number of visits.
_PT = re.compile(
    r"(?i:start|referred for|booked for|plan:|tx:|continue|inicia|after|post|tras)\s+(PT)\b(?!\s+(?:is|was|with|has))"
    r"|\d{4}:\s*(PT)\b(?!\s+(?:is|was|with|has))"
    r"|\b(PT)\s*\(\s*\d+\s*(?i:visits?|sessions?|sesiones)\s*\)")
# Not inside a code or a record number: 'PT-FFACECX6HA' is a pseudonym, not hyaluronic acid.
_HA = re.compile(r"(?<![A-Za-z0-9-])HA(?![A-Za-z0-9])")
_ADVICE = frozenset({"hep", "home exercise"})
_PRIOR = re.compile(r"\b(previas?|previos?|prior|previous|anterior(?:es)?|hace \d+ (?:anos|meses)|years? ago)\b")
_KL = re.compile(
    r"\b(?:kl|k-l|kellgren(?:[- ]lawrence)?)\s*(?:grado|grade|g)?\s*([1-4]|iv|i{1,3})\b"
    r"|\bgrado\s+([1-4]|iv|i{1,3})\s*(?:de\s+)?(?:kl|kellgren)"
    r"|\bgrade\s+([1-4]|iv|i{1,3})\s*(?:kl|kellgren)")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_ICD_TEXT = re.compile(r"\b([a-z]\d{2}(?:\.\d{1,3})?)\b")

_MEASURE_WORDS = r"eva|vas|nrs|womac|koos|lequesne"
_GAP = rf"(?:(?!{_MEASURE_WORDS})[^0-9\n.;)]){{0,25}}?"
_SCORE = re.compile(
    rf"\b(?P<m>{_MEASURE_WORDS})\b(?P<gap>{_GAP})(?P<v>{NUMBER})(?!\s*(?:m\b|meses|months?|mo\b|sem|weeks?))"
    r"(?:\s*/\s*(?P<of>10|100|96|68|24)\b)?(?P<mm>\s*mm\b)?")
_PAIN_OF_10 = re.compile(rf"\b(?:pain|dolor|dolr|doolor)\s+(?P<v>{NUMBER})\s*/\s*10\b")
_ARROW = re.compile(
    rf"\b(?P<m>{_MEASURE_WORDS})\b(?P<gap>{_GAP})(?P<a>{NUMBER})\s*(?:->|→|=>|a|to)\s*(?P<b>{NUMBER})"
    r"(?:\s*(?:a los|at|after|tras|al cabo de|en)\s*(?P<n>\d{1,2})\s*(?:meses|months?|m\b))?")
_BASE_CUE = re.compile(
    r"(partia de|basal|baseline|pre-?tx|pre-?op|pre-?tratamiento|pretreatment|previa|previo|inicial|initial|"
    r"antes del tratamiento|before treatment|at baseline|al inicio)")
# A summary line that opens with the treatment it follows: 'Tras derivación a COT: ', 'After PRP: '.
_AFTER_NAMED = re.compile(r"\s*(?:[-*\u2022]\s*)?(?:tras|after|post|following|despues de)\b[^:\n]{1,60}:\s*$")
_AT_MONTHS = re.compile(r"^\s*(?:a los|at|after|tras|al cabo de|a)\s*(\d{1,2})\s*(?:meses|months?|m\b)")
# A time-point cell of an outcome table: 'Basal', 'Pre-tx', '3 m', '6 meses', '12 months', '3/12', 'Mes 3', 'Month 6'.
_TP_CELL = (r"(?:(?P<base>basal|baseline|pre(?:[- ]?(?:tx|tto|tratamiento|treatment|op))?|inicial|initial|inicio|"
            r"dia 0|day 0)|(?P<n>\d{1,2})\s*(?:m|mes|meses|months?|mo|mths?|/12)\.?|(?:mes|month)\s*(?P<n2>\d{1,2}))")
_TABLE_TP = re.compile(rf"^{_TP_CELL}$")
# A table row written on one line (text extraction of a real table, a DOCX table): 'EVA | 7,5 | 6 | -', 'EVA 7,5 6 5'.
_ROW = re.compile(r"^(?P<label>[a-z][a-z ]*?)\s*[:|]?\s*(?P<cells>[\d.,\s|-]*\d[\d.,\s|-]*)$")
_ROM = re.compile(r"\b(?:ba|balance articular|rom|range of motion|flexion|flex|arco de movilidad)\s*(?:de\s*|:\s*)?"
                  r"(?P<a>\d{1,3})\s*(?:-|a|to)\s*(?P<b>\d{2,3})\s*(?:º|°|o\b|grados|degrees|deg)?")
_RTA = re.compile(
    r"(?P<neg>no ha vuelto|not yet returned|no ha retomado|unable to return)?"
    r"(?:vuelta|vuelve|volvio|retoma|retomo|reincorpora\w*|returned|returns|return)\s+(?:a|al|to)\s+"
    r"(?:la\s+|su\s+|el\s+|his\s+|her\s+)?(?:actividad|deporte|trabajo|activity|sport|work|running|correr)"
    r"(?:[^.\n]{0,30}?(?:a las|at|after|tras|en)\s*(?P<n>\d{1,2})\s*(?P<u>semanas|weeks?|sem|meses|months?))?")
_ADVERSE = (
    ("post_injection_flare", re.compile(
        r"dolor post[- ]?inf\w*|post[- ]?(?:injection|procedure) (?:pain )?flare|pain flare|"
        r"reaccion dolorosa|flare")),
    ("effusion", re.compile(r"derrame|effusion")),
    ("infection", re.compile(r"infeccion|infection|septic|septica")),
    ("hematoma", re.compile(r"hematoma|bruising")),
    ("vasovagal", re.compile(r"sincope vasovagal|vasovagal")),
    ("local_reaction", re.compile(r"reaccion local|local reaction")),
)
# The words of those patterns that a hurried note may mistype ('dolr post-infiltración').
_ADVERSE_WORDS = ("dolor", "infiltracion", "injection", "procedure", "reaccion", "dolorosa", "derrame", "effusion",
                  "infeccion", "infection", "septica", "hematoma", "bruising", "sincope", "vasovagal", "reaction")
_AFTER_TX = re.compile(r"tras|after|post|following|despues|a las \d+ ?h|\d+ ?h\b|x\s?\d+ ?h|dias|days|resuel|resolv|settled")
_FU_PLAN = re.compile(
    r"(?:revision|rev|control|cita|seguimiento|review|rv|f/u|fu|follow[- ]?up)\s*(?:en|in|a los|at)?\s*"
    r"(?P<n>\d{1,2})\s*(?:/12|m\b|meses|months?|mo\b)")
_OPENING = re.compile(r"(?:s/p|tras|after|following|post|con|with|had|de)\s+(?:tto con\s+|tratamiento con\s+)?$")


@dataclass
class _Ctx:
    text: str
    f: str  # folded
    offsets: list[int]
    mentions: list[Mention]  # treatment mentions kept (spans in original text)
    own_note: bool = False  # the clinic's own vocabulary names a diagnosis or a treatment in it

    def span(self, s: int, e: int) -> tuple[int, int]:
        if not self.offsets:
            return (0, 0)
        return (self.offsets[min(s, len(self.offsets) - 1)], self.offsets[max(min(e, len(self.offsets)) - 1, 0)] + 1)

    def line_bounds(self, pos: int) -> tuple[int, int]:
        start = self.f.rfind("\n", 0, pos) + 1
        end = self.f.find("\n", pos)
        return start, len(self.f) if end < 0 else end


class RulesExtractor:
    """Lexicon and pattern extraction from one de-identified note (Spanish or English)."""

    name = "rules"

    def __init__(self, vocabulary: Vocabulary | None = None, *, date_order: DateOrder = "auto",
                 today: dt.date | None = None) -> None:
        self.vocab = vocabulary or BUILTIN
        # Terms of general clinical language (indexing.extraction.clinical): conditions and drugs where the clinic's
        # own vocabulary finds none of that kind (or listed under a diagnosis heading), operations always.
        self.general = general_vocabulary(self.vocab)
        self._own_diagnoses = {t.id for t in self.vocab.diagnoses}
        self._own_treatments = {t.id for t in self.vocab.treatments}
        self._general_surgery = general_operations(self.vocab)
        self.date_order = date_order
        self.today = today

    @cached_property
    def _known(self) -> frozenset[str]:
        return known_words(self.vocab)

    @cached_property
    def _own(self) -> Vocabulary:
        """The clinic's vocabulary, reading its terms also where a note mistypes one word ('kne OA right')."""
        return self.vocab.tolerant(self._known)

    @cached_property
    def _adverse_typos(self) -> TypoCorrector:
        return TypoCorrector(_ADVERSE_WORDS, self._known)

    def extract(self, text: str, *, language: Language | None = None) -> NoteExtraction:
        f, offsets = fold_with_offsets(text)
        # Spans are found in folded text: map folded positions back to the original through `offsets`.
        # Only terms written right make a note the clinic's own: a slip read as one ('rehabilitation' for
        # 'rehabilitacion') is found, but does not turn the note's general conditions into background.
        own_note = bool(self.vocab.diagnosis_mentions(text) or self.vocab.treatment_mentions(text) or any(
            self.vocab.diagnosis_from_icd10(m.group(1)) for m in _ICD_TEXT.finditer(f)))
        treat_mentions = self._treatment_mentions(text, f, offsets, own_note)
        ctx = _Ctx(text, f, offsets, treat_mentions, own_note)
        tp = extract.note_time_point(text)
        if tp is None:
            tp = _after_history(f)
        dates = [d for _, _, d in find_dates(f, self.date_order)]
        treatments = self._treatments(ctx)
        return NoteExtraction(
            language=language or detect_language(text),
            sex=sex_of(text) or extract.sex(text),  # type: ignore[arg-type]
            age=_first_known(age_of(text), extract.age(text)),
            time_point_months=tp,
            diagnoses=self._diagnoses(ctx),
            treatments=treatments,
            outcomes=self._outcomes(ctx, tp, treatments),
            adverse_events=self._adverse(ctx, tp, treatments),
            follow_up_dates=self._follow_ups(ctx, dates),
            dates=dates,
            backend="rules",
        )

    # -- treatments ---------------------------------------------------------------------------------------------
    def _treatment_mentions(self, text: str, f: str, offsets: list[int], own_note: bool) -> list[Mention]:
        """Mentions that describe a treatment given or planned: not negated ('no PRP'), not a past one, not advice.

        Returned spans are positions in the folded text.
        """
        found = self._own_or_general(self._own.treatment_mentions(text), self.general.treatment_mentions(text),
                                     self._own_treatments, f, offsets, own_note, negation=_NEGATION,
                                     always=self._general_surgery)
        # 'Start PT, 10 sessions': upper-case PT after a plan verb is physiotherapy ('Pt' is the patient).
        found += [Mention("physiotherapy", m.start(g), m.end(g), m.group(g)) for m in _PT.finditer(text)
                  for g in (m.lastindex,) if g]
        # Upper-case 'HA' is hyaluronic acid in English notes ('Spanish 'ha' is a verb, so the case matters).
        found += [Mention("hyaluronic_acid", m.start(), m.end(), m.group(0)) for m in _HA.finditer(text)]
        orig_to_fold = {o: i for i, o in reversed(list(enumerate(offsets)))}
        kept = []
        for m in found:
            fs = orig_to_fold.get(m.start, 0)
            before = f[max(0, fs - 40):fs]
            after = f[fs:fs + 40]
            if _NEGATION.search(before) or _PRIOR.search(after[len(m.text):len(m.text) + 15]):
                continue
            if fold(m.text) in _ADVICE:  # 'continue HEP': advice to the patient, not a treatment the clinic gave
                continue
            kept.append(Mention(m.id, fs, fs + len(fold(m.text)), m.text))
        return sorted(kept, key=lambda m: m.start)

    def _treatments(self, ctx: _Ctx) -> list[TreatmentItem]:
        out: dict[str, TreatmentItem] = {}
        ms = ctx.mentions
        for i, m in enumerate(ms):
            ls, le = ctx.line_bounds(m.start)
            nxt = next((n.start for n in ms[i + 1:] if n.id != m.id), len(ctx.f))
            end = min(le, nxt, _sentence_end(ctx.f, m.end, 160))
            window = ctx.f[m.start:end]
            # Doses follow the name; the number of sessions may come before it, in the same clause
            # ('(única infiltración, metilprednisolona 40 mg)').
            prev = max([n.end for n in ms[:i] if n.id != m.id] + [ls, _sentence_start(ctx.f, m.start, 80)])
            dose, volume = normalize_dose(window)
            sessions = sessions_of(window) or sessions_of(ctx.f[prev:m.start])
            date = self._treatment_date(ctx, m, ls, end)
            # Whole words only: a cut 'a los' is 'a l', and 'l' is a side.
            side = side_of(_whole_words(ctx.f, m.end, min(end, m.end + 20))) if m.id != "surgery_referral" else None
            if m.id not in self._own_treatments:  # 'right total knee arthroplasty'
                side = side_of(_whole_words(ctx.f, max(ls, m.start - 20), m.start)) or side
            cur = out.get(m.id)
            if cur is None:
                out[m.id] = TreatmentItem(
                    name=m.id, label=ctx.text[ctx.span(m.start, m.end)[0]:ctx.span(m.start, m.end)[1]],
                    category=self.general.category_of(m.id), dose=dose, volume_ml=volume, sessions=sessions,
                    date=date, side=side, span=ctx.span(m.start, m.end))
            else:
                cur.dose = cur.dose or dose
                cur.volume_ml = cur.volume_ml or volume
                cur.sessions = cur.sessions or sessions
                cur.date = cur.date or date
                cur.side = cur.side or side
        if not ctx.own_note or any(name in self._general_surgery for name in out):
            for item in self._heading_phrases(ctx, "procedure"):
                out.setdefault(item.name, TreatmentItem(name=item.name, label=item.label, category="surgery",
                                                        side=item.side, span=item.span))
        return list(out.values())

    def _own_or_general(self, own: list[Mention], general: list[Mention], own_ids: set[str], f: str,
                        offsets: list[int], own_note: bool, *, negation: re.Pattern[str],
                        always: set[str] | frozenset[str] = frozenset(),
                        listed: list[tuple[int, int]] | None = None) -> list[Mention]:
        """The clinic vocabulary's mentions, and general clinical terms that are not negated where they apply.

        In a note the clinic's vocabulary reads (`own_note`), what it reads is what the note is about; a general
        condition or drug beside it is background (a comorbidity, a differential, a past medication) and is left
        out. Terms in `always` (operations) are events the note reports and are kept in any note, and so is a term
        listed under a diagnosis heading that names nothing of the clinic's (`listed`: spans of those items).
        """
        orig_to_fold = {o: i for i, o in reversed(list(enumerate(offsets)))}
        out = list(own)
        for m in general:
            if m.id not in own_ids and own_note and m.id not in always and not any(
                    s <= m.start < e for s, e in listed or ()):
                continue
            fs = orig_to_fold.get(m.start, 0)
            if negation.search(f[max(0, fs - 40):fs]):
                continue
            overlap = [o for o in out if o.start < m.end and m.start < o.end]
            # A longer operation is named beside the clinic's shorter word inside it ('total knee arthroplasty':
            # also the vocabulary's 'arthroplasty', so questions phrased in the clinic's terms still find it).
            if overlap and not (m.id in always and all(m.end - m.start > o.end - o.start for o in overlap)):
                continue
            out.append(m)
        return sorted(out, key=lambda m: m.start)

    def _joint_oa(self, ctx: _Ctx, m: Mention) -> Mention:
        """'osteoarthritis, right knee', 'osteoarthritis grade IV of both knees': the clinic's knee_oa / hip_oa;
        'Achilles tendinosis': the clinic's achilles_tendinopathy."""
        if m.id == "tendinopathy":
            fs = _fold_pos(ctx, m.start)
            ls, le = ctx.line_bounds(fs)
            fe = fs + len(fold(m.text))
            site = tendon_of_tendinopathy(ctx.f[ls:fs], ctx.f[fe:le])
            return Mention(site, m.start, m.end, m.text) if site and site in self._own_diagnoses else m
        if m.id != "osteoarthritis":
            return m
        fs = _fold_pos(ctx, m.start)
        ls, le = ctx.line_bounds(fs)
        joint = joint_of_osteoarthritis(ctx.f[max(ls, fs - 30):min(le, fs + 60)])
        return Mention(joint, m.start, m.end, m.text) if joint and joint in self._own_diagnoses else m

    def _heading_phrases(self, ctx: _Ctx, kind: str) -> list[DiagnosisItem]:
        """Phrases under a diagnosis or procedure heading that no vocabulary term covers, as items of their own."""
        out: list[DiagnosisItem] = []
        for h in heading_items(ctx.text):
            if h.kind != kind:
                continue
            if (self.general.diagnosis_mentions(h.text) if kind == "diagnosis"
                    else self.general.treatment_mentions(h.text)):
                continue  # a known term: found by its vocabulary
            if _NEGATED_START.match(fold(h.text)):
                continue
            name = phrase_id(h.text)
            if len(name) < 3 or any(i.name == name for i in out):
                continue
            out.append(DiagnosisItem(name=name, label=h.text, side=side_of(h.text), span=(h.start, h.end)))
        return out

    def _treatment_date(self, ctx: _Ctx, m: Mention, line_start: int, end: int) -> dt.date | None:
        """A date written with the treatment: 'dd/mm/yyyy: PRP', 's/p PRP 14/02/2022', 'PRP (3 de marzo de 2021)'.

        Where one line lists several ('26/05/2022: corticoide ... 04/12/2022: fisioterapia ...'), a treatment's date is
        the one written after the treatment before it, never the first date of the line.
        """
        start = max([n.end for n in ctx.mentions if line_start <= n.start and n.end <= m.start and n.id != m.id]
                    + [line_start])
        head = ctx.f[start:m.start]
        for _s, _e, d in reversed(find_dates(head, self.date_order)):
            if re.match(r"\s*[:\-]", head[_e:]) or not head[_e:].strip(" :-"):
                return d
        tail = ctx.f[m.end:min(end, m.end + 40)]
        found = find_dates(tail, self.date_order)
        if found and re.fullmatch(r"[\s(,]*(?:on|el|del|en|the)?\s*", tail[:found[0][0]]):
            return found[0][2]
        return None

    # -- diagnoses ----------------------------------------------------------------------------------------------
    def _diagnoses(self, ctx: _Ctx) -> list[DiagnosisItem]:
        out: dict[str, DiagnosisItem] = {}
        codes = {m.group(1).upper(): m.start() for m in _ICD_TEXT.finditer(ctx.f)}
        kl = _KL.search(ctx.f)
        severity = None
        if kl:
            g = kl.group(1) or kl.group(2) or kl.group(3)
            severity = "KL" + _ROMAN.get(g, g)
        general = [self._joint_oa(ctx, m) for m in self.general.diagnosis_mentions(ctx.text)]
        mentions = self._own_or_general(self._own.diagnosis_mentions(ctx.text), general, self._own_diagnoses, ctx.f,
                                        ctx.offsets, ctx.own_note, negation=_NEGATED_FINDING,
                                        listed=[(h.start, h.end) for h in heading_items(ctx.text)
                                                if h.kind == "diagnosis" and not self._own.diagnosis_mentions(h.text)])
        for m in mentions:
            fs = _fold_pos(ctx, m.start)
            own = m.id in self._own_diagnoses and fold(m.text) != "osteoarthritis"
            if m.id in out:
                continue
            # Whole words only: a cut 'platelet-r' is not 'R' (right).
            window = _whole_words(ctx.f, fs + len(fold(m.text)), fs + len(fold(m.text)) + 25)
            before = _whole_words(ctx.f, max(0, fs - 25), fs)
            # English puts the side before the words ('right carpal tunnel syndrome'), Spanish after them.
            after = ctx.f[fs + len(fold(m.text)):fs + len(fold(m.text)) + 45]
            side = (side_of(window) or side_of(before)) if own else (
                side_of(before.rsplit("\n", 1)[-1]) or side_of(re.split(r"[\n.;]", after, maxsplit=1)[0]))
            code = next((c for c in codes if self.vocab.diagnosis_from_icd10(c) == m.id), None)
            out[m.id] = DiagnosisItem(
                name=m.id, label=m.text, icd10=code or self.vocab.icd10_of(m.id), side=side,
                severity=severity if m.id in ("knee_oa", "hip_oa") else None, span=(m.start, m.end))
        if not ctx.own_note:  # what the clinic's terms do not name
            for item in self._heading_phrases(ctx, "diagnosis"):
                out.setdefault(item.name, item)
        for c, pos in codes.items():
            d = self.vocab.diagnosis_from_icd10(c)
            if d and d not in out:
                out[d] = DiagnosisItem(name=d, label=c, icd10=c, span=ctx.span(pos, pos + len(c)),
                                       severity=severity if d in ("knee_oa", "hip_oa") else None)
        for generic in [name for name in out if name in _SUBSUMED]:
            said_better = (any(name not in _SYMPTOMS for name in out) if generic in _SYMPTOMS
                           else any(name in _SUBSUMED[generic] for name in out))
            if said_better:
                del out[generic]  # 'knee pain' beside 'knee osteoarthritis'; 'fracture' beside 'hip fracture'
        if out:
            note_side = _note_side(ctx.f)
            for item in out.values():
                item.side = item.side or note_side
        return list(out.values())

    # -- outcomes -----------------------------------------------------------------------------------------------
    def _outcomes(self, ctx: _Ctx, tp: float | None, treatments: list[TreatmentItem]) -> list[OutcomeItem]:
        f = ctx.f
        main = self._main_treatment(ctx, treatments)
        out: list[OutcomeItem] = []
        seen: set[tuple[str, float, str | None]] = set()
        taken: list[tuple[int, int]] = []

        def add(measure: str, raw: float, months: float | None, s: int, e: int, *, of: str | None = None,
                mm: bool = False, treatment: str | None = None) -> None:
            if months is None:
                return
            value, plausible = self._scale(measure, raw, of, mm)
            tname = treatment or self._line_treatment(ctx, s) or main
            key = (measure, months, tname)
            if key in seen:
                return
            seen.add(key)
            taken.append((s, e))
            out.append(OutcomeItem(measure=measure, value=value, months=months, treatment=tname,
                                   plausible=plausible, span=ctx.span(s, e)))

        for t in self._tables(ctx):
            add(*t[:5], treatment=t[5])  # type: ignore[misc]
        summarised: list[str] = []  # treatments that 'After X: VAS a -> b' lines already summarised
        for m in _ARROW.finditer(f):
            measure = _measure(m.group("m"))
            a, b = parse_number(m.group("a")), parse_number(m.group("b"))
            n = float(m.group("n")) if m.group("n") else tp
            if a is None or b is None or not n:
                continue
            tname = self._line_treatment(ctx, m.start())
            ls, _le = ctx.line_bounds(m.start())
            if tname is None and _AFTER_NAMED.match(f[ls:m.start()]):
                # 'Tras derivación a COT: EVA 6,5 -> 0': the line names a treatment the vocabulary does not know.
                # Letters summarise the treatments in the order they were given, so it is the next one without a
                # summary line; never the note's main treatment, whose line came before.
                pending = [t for t in dict.fromkeys(x.id for x in ctx.mentions) if t not in summarised]
                tname = pending[0] if pending else None
                if tname is None:
                    continue
            if tname:
                summarised.append(tname)
            add(measure, a, 0.0, m.start(), m.end(), treatment=tname)
            add(measure, b, n, m.start(), m.end(), treatment=tname)
        for m in _SCORE.finditer(f):
            if any(s <= m.start() < e for s, e in taken):
                continue
            raw = parse_number(m.group("v"))
            if raw is None:
                continue
            months = tp
            if _BASE_CUE.search(f[max(0, m.start() - 25):m.start()]) or _BASE_CUE.search(m.group("gap")):
                months = 0.0
            else:
                at = _AT_MONTHS.match(f[m.end():m.end() + 25])
                if at:
                    months = float(at.group(1))
            add(_measure(m.group("m")), raw, months, m.start(), m.end(), of=m.group("of"), mm=bool(m.group("mm")))
        for m in _PAIN_OF_10.finditer(f):
            raw = parse_number(m.group("v"))
            if raw is not None and not any(s <= m.start() < e for s, e in taken):
                base = _BASE_CUE.search(f[max(0, m.start() - 25):m.start()])
                add("VAS", raw, 0.0 if base else tp, m.start(), m.end(), of="10")
        for months, raw, s, e in extract.inline_scores(f):  # earlier scores listed: '3m: 7, 6m: 5'
            if not any(ts <= s < te for ts, te in taken):
                add("VAS", raw, months, s, e)
        for m in _ROM.finditer(f):
            b = int(m.group("b"))
            if 20 <= b <= 180:
                add("ROM", float(b), tp, m.start(), m.end())
        for m in _RTA.finditer(f):
            months = tp
            if m.group("n"):
                weeks = m.group("u").startswith(("sem", "week"))
                months = round(int(m.group("n")) / (4.345 if weeks else 1.0), 1)
            add("RTA", 0.0 if m.group("neg") else 1.0, months, m.start(), m.end())
        return out

    def _scale(self, measure: str, raw: float, of: str | None, mm: bool) -> tuple[float, bool]:
        """The value on the measure's own scale, and whether it is plausible.

        A VAS written '/100' or in mm is converted to 0-10; a bare VAS above 10 is more likely a typo than a 100-mm
        scale, so it is kept as written and flagged for review rather than silently divided.
        """
        value = raw
        if measure == "VAS" and (of == "100" or mm):
            value = raw / 10
        meta = self.vocab.measure(measure)
        plausible = meta is None or meta.low <= value <= meta.high
        if of == "96" and measure != "WOMAC" or of == "10" and measure != "VAS":
            plausible = plausible and value <= float(of)
        return round(value, 2), plausible

    def _tables(self, ctx: _Ctx) -> list[tuple[str, float, float, int, int, str | None]]:
        """Outcome tables as text extraction lays them out: a header of time points, then 'measure v v v v' rows.

        Two layouts: one cell per line (a PDF's cells, as text extraction returns them) or one row per line
        ('Basal | 3 m | 6 m' then 'EVA | 7 | 5 | 4'). Each table belongs to the treatment named before it.
        """
        raw = ctx.f.split("\n")
        starts = [0]
        for ln in raw:
            starts.append(starts[-1] + len(ln) + 1)
        # Blank lines carry no cells: text extraction puts them between cells at random.
        keep = [i for i, ln in enumerate(raw) if ln.strip()]
        lines = [raw[i] for i in keep]
        pos = [starts[i] for i in keep] + [len(ctx.f) + 1]
        out = []
        given: list[str] = []  # the treatments earlier tables of this document belong to
        # The last table read one cell per line (its header, its rows' measures, its treatment): a column can come
        # after the rest of the page, as text extraction reads a table cut by a signature or a page end.
        last: tuple[list[float], list[str], str | None] | None = None
        i = 0
        while i < len(lines):
            header = _row_header(lines[i])
            one_row_per_line = header is not None
            j = i + 1
            if header is None:
                header = []
                j = i
                while j < len(lines) and (tm := _TABLE_TP.match(lines[j].strip())):
                    header.append(_tp_months(tm))
                    j += 1
            if len(header) == 1 and last is not None and header[0] > max(last[0]):
                # '12 m' then its cells, after the table: the column in the rows' order. Where it holds fewer cells
                # than the table has rows, only the first row (the measure taken at every visit) is certain.
                vals = []
                for v in lines[j:j + len(last[1])]:
                    if parse_number(v) is None:
                        break
                    vals.append(v.strip())
                for row_measure, v in list(zip(last[1], vals, strict=False))[:len(vals) if len(vals) == len(last[1]) else 1]:
                    out.append((row_measure, parse_number(v) or 0.0, header[0], pos[i], pos[j + len(vals)] - 1, last[2]))
                if vals:
                    last = None
                    i = j + len(vals)
                    continue
            if len(header) < 2:
                i += 1
                continue
            treatment = self._table_treatment(ctx, pos[i], given)
            if treatment:
                given.append(treatment)
            measures: list[str] = []
            k = j
            while k < len(lines):
                if one_row_per_line:
                    row = _row_cells(lines[k])
                    measure = self.vocab.measure_id(row[0]) if row else None
                    if row is None or measure is None:
                        break
                    vals, step = row[1], 1
                else:
                    label = lines[k].strip()
                    measure = self.vocab.measure_id(label) if not re.search(r"\d", label) else None
                    if measure is None:
                        break
                    vals = []
                    for v in lines[k + 1:k + 1 + len(header)]:
                        if v.strip() != "-" and parse_number(v) is None:
                            break
                        vals.append(v.strip())
                    step = 1 + len(vals)
                if not vals:
                    break
                # Text extraction drops empty and '-' cells, so a short row is ambiguous. The first row (the primary
                # measure, taken at every visit) fills from the left: its gaps are visits missed at the end. In other
                # rows only the baseline is certain.
                first_row = k == j
                cells = list(zip(header, vals, strict=False)) if len(vals) == len(header) or first_row else [
                    (header[0], vals[0])]
                for months, v in cells:
                    if v not in ("-", ""):
                        out.append((measure, parse_number(v) or 0.0, months, pos[k], pos[k + 1] - 1, treatment))
                measures.append(measure)
                k += step
            last = (header, measures, treatment) if measures and not one_row_per_line else None
            i = max(k, i + 1)
        return out

    def _table_treatment(self, ctx: _Ctx, pos: int, given: list[str]) -> str | None:
        """The treatment an outcome table follows: the last one named before it.

        A report gives one table per treatment, in the order they were given; where the treatment named last was
        already given an earlier table, this table's own title names one the vocabulary does not know ('referral to
        orthopaedic surgery: much better'), and it belongs to the next treatment that has no table yet.
        """
        before = [m for m in ctx.mentions if m.start < pos]
        last = before[-1].id if before else None
        if last in given:
            pending = [t for t in dict.fromkeys(m.id for m in before) if t not in given]
            return pending[0] if pending else last
        return last

    def _line_treatment(self, ctx: _Ctx, pos: int) -> str | None:
        """A treatment named earlier on the same line ('Tras PRP: EVA 7 -> 6 a los 6 meses')."""
        ls, _ = ctx.line_bounds(pos)
        same = [m for m in ctx.mentions if ls <= m.start < pos]
        if len({m.id for m in same}) == 1 and len(ctx.f[ls:pos]) < 60:
            return same[0].id
        return None

    def _event_treatment(self, ctx: _Ctx, pos: int) -> str | None:
        """The treatment an adverse event follows where its line says: the last one named before it on that line
        ('Tras PRP: EVA 6 -> 5,5. Presentó reacción dolorosa tras la infiltración'). A treatment named after it is
        more often the next plan ('derrame; se propone PRP') than its cause."""
        ls, _ = ctx.line_bounds(pos)
        before = [m for m in ctx.mentions if ls <= m.start < pos]
        return before[-1].id if before else None

    def _main_treatment(self, ctx: _Ctx, treatments: list[TreatmentItem]) -> str | None:
        """The treatment a note's scores follow: the only one, or the one the note opens with ('s/p PRP')."""
        ids = [t.name for t in treatments]
        if len(ids) == 1:
            return ids[0]
        for m in ctx.mentions:
            if _OPENING.search(ctx.f[max(0, m.start - 25):m.start]):
                return m.id
        return None

    # -- adverse events and follow-ups --------------------------------------------------------------------------
    def _adverse(self, ctx: _Ctx, tp: float | None, treatments: list[TreatmentItem]) -> list[AdverseEventItem]:
        """Adverse events reported after a treatment; a first visit's findings (an effusion on examination) are not."""
        # The patterns read the note with their own words' slips corrected; `at` maps a position back to ctx.f.
        f, at, _fixed = self._adverse_typos.correct(ctx.f)
        out: dict[str, AdverseEventItem] = {}
        main = self._main_treatment(ctx, treatments)
        for name, pat in _ADVERSE:
            for m in pat.finditer(f):
                if name in out:
                    break
                pre = f[max(0, m.start() - 40):m.start()]
                if _NEGATION.search(pre):
                    continue
                sent_end = _sentence_end(f, m.end(), 120)
                sentence = f[max(0, f.rfind(".", 0, m.start()) + 1):sent_end]
                if tp == 0.0 and not _AFTER_TX.search(sentence):
                    continue
                if name == "effusion" and not _AFTER_TX.search(sentence) and tp in (None, 0.0):
                    continue
                start, end = at[m.start()], at[m.end() - 1] + 1
                out[name] = AdverseEventItem(name=name, treatment=self._event_treatment(ctx, start) or main,
                                             span=ctx.span(start, end))
        for h in heading_items(ctx.text):  # 'COMPLICATIONS: superficial wound infection' (not '... None')
            phrase = fold(h.text)
            if h.kind != "complication" or _NO_COMPLICATION.search(phrase) or len(out) >= 5:
                continue
            name = next((n for n, pat in _ADVERSE if pat.search(phrase)), phrase[:60])
            out.setdefault(name, AdverseEventItem(name=name, treatment=main, span=(h.start, h.end)))
        return list(out.values())

    def _follow_ups(self, ctx: _Ctx, dates: list[dt.date]) -> list[dt.date]:
        """Planned visits: 'Revisión en 3 meses' from the note's date (the first written), or a written date."""
        out: list[dt.date] = []
        visit = dates[0] if dates else None
        for m in _FU_PLAN.finditer(ctx.f):
            if visit is None:
                break
            n = int(m.group("n"))
            if 1 <= n <= 36:
                out.append(_add_months(visit, n))
        for m in re.finditer(r"(?:proxima revision|proxima cita|next (?:visit|review|appointment))\s*:?\s*", ctx.f):
            found = find_dates(ctx.f[m.end():m.end() + 30], self.date_order)
            if found and found[0][0] == 0:
                out.append(found[0][2])
        return sorted(set(out))


_NEXT_VISIT = {3: 6.0, 6: 12.0, 12: 24.0}


def _after_history(f: str) -> float | None:
    """A follow-up listing earlier scores ('3m: 3, 6m: 4,5') without a date describes the next scheduled visit."""
    months = [int(m) for m, _v, _s, _e in extract.inline_scores(f)]
    return _NEXT_VISIT.get(max(months)) if months else None


def _tp_months(m: re.Match[str]) -> float:
    """Months of a time-point cell: 0 for the baseline."""
    n = m.group("n") or m.group("n2")
    return 0.0 if m.group("base") or n is None else float(n)


_TP_TOKEN = re.compile(rf"(?<![\w/]){_TP_CELL}(?![\w/])")


def _row_header(line: str) -> list[float] | None:
    """The time points of a header written on one line ('Basal | 3 m | 6 m | 12 m', 'Escala  Basal  3m  6m'):
    two or more time-point cells and nothing else but a leading word."""
    tokens = list(_TP_TOKEN.finditer(line))
    if len(tokens) < 2 or not re.fullmatch(r"[\s|:]*(?:[a-z][a-z ]{0,20})?[\s|:]*", line[:tokens[0].start()]):
        return None
    gaps = [line[a.end():b.start()] for a, b in pairwise(tokens)] + [line[tokens[-1].end():]]
    if not all(re.fullmatch(r"[\s|:]*", g) for g in gaps):
        return None
    return [_tp_months(t) for t in tokens]


def _row_cells(line: str) -> tuple[str, list[str]] | None:
    """('measure label', cells) of a table row written on one line: 'EVA | 7,5 | 6 | -', 'KOOS dolor 30 45'.
    Between '|' an empty cell is a visit without a score, kept in its place."""
    m = _ROW.match(line.strip().strip("|").strip())
    if not m:
        return None
    body = m.group("cells").strip().strip("|")
    cells = [c.strip().rstrip(",") for c in body.split("|")] if "|" in body else [c.rstrip(",") for c in body.split()]
    if any(c not in ("", "-") and parse_number(c) is None for c in cells):
        return None
    return m.group("label").strip(), cells


def _whole_words(f: str, start: int, end: int) -> str:
    """f[start:end] without the words the cut splits at either end."""
    while start > 0 and start < end and f[start - 1].isalnum() and f[start].isalnum():
        start += 1
    while end < len(f) and end > start and f[end - 1].isalnum() and f[end].isalnum():
        end -= 1
    return f[start:end]


def _first_known(*values: int | str | None) -> int | str | None:
    return next((v for v in values if v is not None), None)


def _measure(word: str) -> str:
    return {"eva": "VAS", "nrs": "VAS", "vas": "VAS"}.get(word, word.upper())


def _fold_pos(ctx: _Ctx, orig: int) -> int:
    for i, o in enumerate(ctx.offsets):
        if o >= orig:
            return i
    return len(ctx.offsets)


def _sentence_end(f: str, start: int, limit: int) -> int:
    """End of the sentence that starts before `start` (a full stop followed by a space and a capital-free word)."""
    stop = min(len(f), start + limit)
    for m in re.finditer(r"\.(?=\s+[a-z]{2,}\b(?!\s*\d))|\n", f[start:stop]):
        word = f[start + m.start() - 4:start + m.start()]
        if m.group(0) == "." and re.search(r"(ses|inf|dcha|izq|izqda|dr|dra|sem|aprox)$", word):
            continue
        return start + m.start()
    return stop


def _sentence_start(f: str, pos: int, limit: int) -> int:
    """Start of the sentence holding `pos` (looking back at most `limit` characters)."""
    lo = max(0, pos - limit)
    ends = [m.end() for m in re.finditer(r"\.\s+(?=[a-z(])|[:;]\s|\n", f[lo:pos])]
    return lo + ends[-1] if ends else lo


def _note_side(f: str) -> str | None:
    """The side of the complaint: the first side written after a joint or body part."""
    m = re.search(r"(rodilla|cadera|codo|hombro|tobillo|pie|talon|knee|hip|elbow|shoulder|ankle|heel|foot|achilles|"
                  r"aquiles)\s*(?:de\s+)?(\S+)", f)
    return side_of(m.group(2)) if m else None


def _add_months(d: dt.date, n: int) -> dt.date:
    y, mo = divmod(d.month - 1 + n, 12)
    day = min(d.day, 28)
    return dt.date(d.year + y, mo + 1, day)
