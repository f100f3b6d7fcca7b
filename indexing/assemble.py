"""Case assembly: merge the facts every document and table row holds about one patient into one Case."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from casewise.types import AdverseEventLink, Case, CaseFacts, Code, Diagnosis, Outcome, Treatment, age_band
from casewise.vocabulary import label

SIDES = {"left": {"es": "izquierda", "en": "left"}, "right": {"es": "derecha", "en": "right"},
         "bilateral": {"es": "bilateral", "en": "bilateral"}}


def merge(case_id: str, facts: Iterable[tuple[str, CaseFacts]]) -> Case:
    """Merge (doc_id, facts) pairs into a Case; duplicates across documents collapse."""
    case = Case(case_id=case_id)
    diags: dict[str, Diagnosis] = {}
    episodes: dict[str, list[_Course]] = {}  # treatment name -> its courses, in the order first seen
    outs: dict[tuple[str, float, str | None], Outcome] = {}
    codes: dict[tuple[str, str], Code] = {}
    ages: list[int | str] = []
    birth_years: list[int] = []
    events: list[AdverseEventLink] = []
    for doc_id, f in facts:
        if doc_id not in case.doc_ids:
            case.doc_ids.append(doc_id)
        case.sex = case.sex or f.sex  # type: ignore[assignment]  # facts hold 'F'/'M' or None
        case.language = case.language or f.language
        if f.age is not None:
            ages.append(f.age)
        if f.birth_year:
            birth_years.append(f.birth_year)
        for d in f.diagnoses:
            cur = diags.get(d.name)
            if cur is None:
                diags[d.name] = d.model_copy()
            else:
                cur.icd10 = cur.icd10 or d.icd10
                cur.side = cur.side or d.side
                cur.severity = cur.severity or d.severity
                cur.label = cur.label or d.label
        for t in f.treatments:
            episodes.setdefault(t.name, [])
            same = _same_course(episodes[t.name], t)
            if same is None:
                episodes[t.name].append(_Course(t.model_copy(), [t.date] if t.date else []))
            else:
                same.add(t)
        for o in f.outcomes:
            k2 = (o.measure, o.months, o.treatment)
            if k2 not in outs:
                outs[k2] = o.model_copy()
        case.adverse_events = sorted(set(case.adverse_events) | set(f.adverse_events))
        linked = {a.name for a in f.adverse_event_links}
        events += f.adverse_event_links + [AdverseEventLink(name=a) for a in f.adverse_events if a not in linked]
        for c in f.codes:  # one per code: a recorded one over a predicted one, else the most confident mention
            cur_c = codes.get((c.kind, c.code))
            if cur_c is None or _code_rank(c) > _code_rank(cur_c):
                codes[(c.kind, c.code)] = c
    treats = [c.treatment() for courses in episodes.values() for c in courses]
    # Outcomes recorded without a treatment belong to the only treatment, when there is exactly one.
    names = {t.name for t in treats}
    if len(names) == 1:
        only = next(iter(names))
        for k2 in list(outs):
            if k2[2] is None:
                o = outs.pop(k2)
                nk = (o.measure, o.months, only)
                if nk not in outs:
                    o.treatment = only
                    outs[nk] = o
    case.diagnoses = list(diags.values())
    case.codes = sorted(codes.values(), key=lambda c: (c.source != "recorded", -c.confidence, c.kind, c.code))
    case.treatments = sorted(treats, key=lambda t: (t.date is None, t.date or "", t.name))
    case.outcomes = sorted(outs.values(), key=lambda o: (o.treatment or "", o.measure, o.months))
    case.adverse_event_links = tie_events(events, case.treatments)
    dated = [t.date for t in case.treatments if t.date]
    if not ages and birth_years and dated:  # age at the first treatment, from a demographics table
        at = dated[0].year - min(birth_years)
        ages.append("90+" if at >= 90 else at)
    numeric = [a for a in ages if isinstance(a, int)]
    case.age_band = age_band("90+" if "90+" in ages else (min(numeric) if numeric else None))
    case.summary = summarize(case)
    return case


def tie_events(events: list[AdverseEventLink], treatments: list[Treatment]) -> list[AdverseEventLink]:
    """Every adverse event tied to the treatment it followed, one link per event and treatment.

    The record's own tie wins (the sentence's or the table row's treatment); else the treatment given last on or
    before the date of the record that reports the event; else the case's only treatment. Where none applies the
    event stays untied (treatment None) and the cohort shows it under every treatment of the case.
    """
    names = list(dict.fromkeys(t.name for t in treatments))
    out: dict[tuple[str, str | None], AdverseEventLink] = {}
    for e in events:
        treatment = e.treatment
        if treatment is None and e.date is not None:
            before = [t for t in treatments if t.date is not None and t.date <= e.date]
            treatment = max(before, key=lambda t: t.date or dt.date.min).name if before else None
        if treatment is None and len(names) == 1:
            treatment = names[0]
        key = (e.name, treatment)
        cur = out.get(key)
        if cur is None or (e.date is not None and (cur.date is None or e.date < cur.date)):
            out[key] = AdverseEventLink(name=e.name, treatment=treatment, date=e.date)
    # An untied record of an event that another record ties says nothing more.
    tied = {name for name, t in out if t is not None}
    return sorted((v for (name, t), v in out.items() if t is not None or name not in tied),
                  key=lambda e: (e.treatment or "", e.name))


# Two records of one treatment less than this far apart are one course: a note dates it by the visit it was decided
# at, the table by the day it was given, a letter by the last session of a series (weeks apart). A second course of
# the same injection or programme comes months later (PRP in 2023, PRP again in 2025).
SAME_COURSE_DAYS = 92


@dataclass
class _Course:
    """One treatment course as the documents describe it: the union of their details, and every date they give."""

    merged: Treatment
    dates: list[dt.date] = field(default_factory=list)

    def add(self, t: Treatment) -> None:
        m = self.merged
        self.merged = m.model_copy(update={
            "dose": m.dose or t.dose, "sessions": m.sessions or t.sessions, "side": m.side or t.side,
            "label": m.label or t.label})
        if t.date:
            self.dates.append(t.date)

    def treatment(self) -> Treatment:
        """The course with the date most of its records give (the earliest of a tie)."""
        if not self.dates:
            return self.merged.model_copy(update={"date": None})
        counts = Counter(self.dates)
        return self.merged.model_copy(update={"date": min(counts, key=lambda d: (-counts[d], d))})


def _same_course(courses: list[_Course], t: Treatment) -> _Course | None:
    """The course `t` describes among the courses already seen of its treatment, or None for a new course.

    Same side (or a side unstated), and a date within SAME_COURSE_DAYS of one of the course's dates, or no date on
    either side; the nearest such course wins.
    """
    fits = [c for c in courses if not (c.merged.side and t.side and c.merged.side != t.side)]
    if t.date is None:
        return fits[0] if fits else None
    undated = [c for c in fits if not c.dates]
    near = [(min(abs((d - t.date).days) for d in c.dates), i) for i, c in enumerate(fits) if c.dates]
    near = [x for x in near if x[0] <= SAME_COURSE_DAYS]
    if near:
        return fits[min(near)[1]]
    return undated[0] if undated else None


def _named(term_id: str, written: str, lang: str) -> str:
    """The vocabulary's label; for a term it does not know (general clinical language), the words as written."""
    name = label(term_id, lang)
    return written.strip() or name if name == term_id else name


def _code_rank(c: Code) -> tuple[bool, float]:
    return (c.source == "recorded", c.confidence)


def summarize(case: Case, language: str | None = None) -> str:
    """A de-identified one-paragraph description of the case, used for display and as a searchable chunk."""
    lang = language or case.language or "es"
    es = lang == "es"
    parts: list[str] = []
    sex = {"F": "Mujer" if es else "Female", "M": "Varón" if es else "Male"}.get(case.sex or "", "")
    head = ", ".join(p for p in [sex, f"{case.age_band} {'años' if es else 'years'}" if case.age_band else ""] if p)
    if head:
        parts.append(head + ".")
    if case.diagnoses:
        ds = []
        for d in case.diagnoses:
            side = SIDES.get(d.side or "", {}).get("es" if es else "en", d.side or "")
            extra = " ".join(x for x in [side, d.severity or "", f"({d.icd10})" if d.icd10 else ""] if x)
            ds.append(f"{_named(d.name, d.label, lang)} {extra}".strip())
        parts.append(("Diagnóstico: " if es else "Diagnosis: ") + "; ".join(ds) + ".")
    if case.treatments:
        ts = []
        for t in case.treatments:
            bits = [_named(t.name, t.label, lang)]
            if t.sessions:
                bits.append(f"{t.sessions} {'sesiones' if es else 'sessions'}")
            if t.dose:
                bits.append(t.dose)
            if t.date:
                bits.append(t.date.isoformat()[:7])
            ts.append(" ".join(bits))
        parts.append(("Tratamientos: " if es else "Treatments: ") + "; ".join(ts) + ".")
    if case.outcomes:
        by: dict[tuple[str | None, str], list[Outcome]] = {}
        for o in case.outcomes:
            by.setdefault((o.treatment, o.measure), []).append(o)
        os_ = []
        for (tname, measure), items in by.items():
            series = ", ".join(f"{o.value:g} ({o.months:g}m)" for o in sorted(items, key=lambda o: o.months))
            os_.append(f"{measure} {('tras ' if es else 'after ') + label(tname, lang) if tname else ''}: {series}".replace(" :", ":"))
        parts.append(("Evolución: " if es else "Outcomes: ") + "; ".join(os_) + ".")
    if case.adverse_events:
        parts.append(("Efectos adversos: " if es else "Adverse events: ") + ", ".join(case.adverse_events) + ".")
    return " ".join(parts)
