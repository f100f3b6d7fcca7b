"""Cohort queries: a question plan run over every case in the store (never only the most similar ones).

Per treatment arm: how many cases received it, and for every measure and time point the change from baseline
(n, median, IQR, share reaching the MCID), how it was given (dose, sessions) and the adverse events that followed it,
each with the de-identified sentence that reports it. What the plan asks for and the records do not hold is listed
in `Cohort.not_found`, so the answer can say so first.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select

from casewise.plan import AdverseEvent, Arm, Cohort, MeasureStat, NotFound, QuestionPlan, Regimen
from casewise.sparse import sparse_vector
from casewise.store import CaseRow, Store
from casewise.types import Case, Treatment
from casewise.vocabulary import BUILTIN, Vocabulary, fold

# Adverse events as notes and tables write them -> one canonical id (tables write 'dolor post-infiltración').
AE_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("post_injection_flare", re.compile(r"flare|dolor post|post[- ]?inf|reaccion dolorosa|brote")),
    ("effusion", re.compile(r"derrame|effusion")),
    ("infection", re.compile(r"infecc|infect|septic")),
    ("hematoma", re.compile(r"hematoma|bruis")),
    ("vasovagal", re.compile(r"vasovagal|sincope")),
    ("local_reaction", re.compile(r"reaccion local|local reaction")),
)
_AFTER_INJECTION = frozenset({"post_injection_flare", "effusion"})
_AE_QUERY = ("flare dolor postinfiltración post-infiltración post-injection derrame effusion infección infection "
             "hematoma vasovagal reacción local reaction")
_NEGATED = re.compile(r"\b(no|sin|niega|without|denies|nor|ningun[oa]?|ni)\b[^.;\n]{0,30}$")
_SUMMARY_LINE = re.compile(r"\s*(?:adverse events|efectos adversos)\s*:")
_SENTENCE = re.compile(r"[^.\n;]+[.\n;]?")
SentenceFinder = Callable[[list[str]], dict[str, list[tuple[str, str]]]]


def canonical_event(name: str) -> str:
    """One id for an adverse event however it was written."""
    f = fold(name)
    return next((cid for cid, pat in AE_NAMES if pat.search(f)), f.strip().replace(" ", "_"))


def iter_cases(store: Store, batch: int = 500) -> Iterator[Case]:
    """Every case in the store, streamed in batches."""
    with store.session() as s:
        for (data,) in s.execute(select(CaseRow.data).order_by(CaseRow.case_id).execution_options(yield_per=batch)):
            yield Case.model_validate(data)


def _grade(severity: str | None) -> int | None:
    m = re.search(r"([1-4])", severity or "")
    return int(m.group(1)) if m else None


def _band_overlaps(band: str | None, lo: int | None, hi: int | None) -> bool:
    if lo is None and hi is None:
        return True
    if not band:
        return False
    b_lo, b_hi = (90, 200) if band == "90+" else (int(band.split("-")[0]), int(band.split("-")[1]))
    return (lo is None or b_hi >= lo) and (hi is None or b_lo <= hi)


def _matches_profile(plan: QuestionPlan, case: Case) -> bool:
    p = plan.profile
    if not _band_overlaps(case.age_band, p.age_min, p.age_max):
        return False
    diags = [d for d in case.diagnoses if not plan.conditions or d.name in plan.condition_ids]
    if p.single_patient:
        # A described patient's sex and side order similar cases and restrict nothing; their grade keeps the cases
        # within one grade of it (a KL2 knee is not answered from end-stage KL4 knees).
        if p.severity is None:
            return True
        grades = [g for d in diags if (g := _grade(d.severity)) is not None]
        return not grades or any(abs(g - p.severity) <= 1 for g in grades)
    if p.sex and case.sex != p.sex:
        return False
    if p.severity is not None and not any(_grade(d.severity) == p.severity for d in diags):
        return False
    return not (p.side and not any(d.side == p.side for d in diags))


def _first_date(case: Case, names: Iterable[str]) -> Treatment | None:
    given = [t for t in case.treatments if t.name in set(names)]
    return min(given, key=lambda t: (t.date is None, t.date or "")) if given else None


def _arm_treatments(plan: QuestionPlan, case: Case, treatment: str) -> list[Treatment]:
    """The case's episodes of `treatment` that the plan counts: after the prior treatment, with the asked sessions."""
    out = [t for t in case.treatments if t.name == treatment]
    if plan.prior_treatments:
        prior = _first_date(case, plan.prior_treatments)
        if prior is not None and prior.date is not None:
            out = [t for t in out if t.date is None or t.date > prior.date]
    if plan.sessions is not None:
        out = [t for t in out if t.sessions == plan.sessions]
    return out


def _after_prior(plan: QuestionPlan, case: Case) -> bool:
    """The case received a prior treatment and then another one (what 'after failed X' asks about)."""
    prior = _first_date(case, plan.prior_treatments)
    if prior is None:
        return False
    later = [t for t in case.treatments if t.name not in plan.prior_treatments]
    return any(prior.date is None or t.date is None or t.date > prior.date for t in later)


def select_cases(plan: QuestionPlan, cases: Iterable[Case]) -> list[Case]:
    """The cases the plan is about: condition, profile, prior treatments, exclusions and (when asked) the arms."""
    if plan.unknown_conditions and not plan.conditions:
        return []  # a condition the clinic has no term for has no case
    out = []
    for case in cases:
        names = {d.name for d in case.diagnoses}
        given = {t.name for t in case.treatments}
        if plan.conditions and not names & set(plan.condition_ids):
            continue
        if not _matches_profile(plan, case):
            continue
        if plan.prior_treatments and not _after_prior(plan, case):
            continue
        if given & set(plan.exclusions):
            continue
        if plan.treatments and not any(_arm_treatments(plan, case, t) for t in plan.treatments):
            continue
        out.append(case)
    return out


def _points(case: Case, treatment: str, measure: str) -> dict[float, float]:
    """months -> value of `measure` after `treatment`; unattributed scores only in a single-treatment case."""
    pts = [o for o in case.outcomes if o.measure == measure and o.treatment == treatment]
    if not pts and len({t.name for t in case.treatments}) == 1:
        pts = [o for o in case.outcomes if o.measure == measure and o.treatment is None]
    out: dict[float, float] = {}
    for o in pts:
        out.setdefault(o.months, o.value)
    return out


def _quartiles(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 2:
        return None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return round(q[0], 2), round(q[2], 2)


def _stats(cases: list[Case], treatment: str, vocab: Vocabulary) -> list[MeasureStat]:
    changes: dict[tuple[str, float], list[tuple[str, float, float]]] = {}
    for case in cases:
        for measure in vocab.measures:
            pts = _points(case, treatment, measure)
            if 0.0 not in pts:
                continue
            for months, value in pts.items():
                if months > 0:
                    changes.setdefault((measure, months), []).append((case.case_id, value - pts[0.0], value))
    out = []
    for (measure, months), rows in sorted(changes.items()):
        m = vocab.measure(measure)
        deltas = [d for _, d, _ in rows]
        share = None
        if m is not None and m.mcid:
            share = round(sum((d >= m.mcid) if m.higher_is_better else (d <= -m.mcid) for d in deltas) / len(deltas), 2)
        out.append(MeasureStat(measure=measure, months=months, n=len(rows), median_change=round(statistics.median(deltas), 2),
                               iqr=_quartiles(deltas), median_value=round(statistics.median(v for *_, v in rows), 2),
                               mcid_share=share, mcid=m.mcid if m else None, case_ids=[c for c, _, _ in rows]))
    return out


def _regimen(episodes: list[Treatment]) -> Regimen:
    doses = Counter(t.dose for t in episodes if t.dose)
    sessions = Counter(str(t.sessions) for t in episodes if t.sessions)
    numbers = [t.sessions for t in episodes if t.sessions]
    return Regimen(doses=dict(doses.most_common()), sessions=dict(sorted(sessions.items(), key=lambda kv: int(kv[0]))),
                   median_sessions=float(statistics.median(numbers)) if numbers else None,
                   recorded=sum(1 for t in episodes if t.dose or t.sessions))


def _events(case: Case, vocab: Vocabulary, found: dict[str, list[tuple[str, str]]]) -> list[AdverseEvent]:
    """The case's adverse events with the treatment they followed.

    Indexing ties each event to a treatment (`Case.adverse_event_links`: the record's own tie, else the treatment
    given before the record that reports it). Events it could not tie, and every event of a case indexed before
    links were stored, are tied here where the sentence or the case says (the only treatment, the treatment the
    sentence names, the only injection for an injection's event); an event still untied has treatment None and is
    shown under every treatment of the case, so that no adverse event is hidden.
    """
    names = list(dict.fromkeys(t.name for t in case.treatments))
    ties = [(canonical_event(a.name), a.treatment if a.treatment in names else None) for a in case.adverse_event_links]
    if not ties:
        ties = [(canonical_event(a), None) for a in case.adverse_events]
    tied = {e for e, t in ties if t is not None}
    out = []
    for event, linked in dict.fromkeys((e, t) for e, t in ties if t is not None or e not in tied):
        sentences = [s for e, s in found.get(case.case_id, []) if e == event]
        said_with = [s for s in sentences if linked in vocab.find_treatments(s)] if linked else []
        sentence = (said_with or sentences or [""])[0]
        treatment = linked or (names[0] if len(names) == 1 else None)
        if treatment is None and sentence:
            said = [t for t in vocab.find_treatments(sentence) if t in names]
            treatment = said[0] if len(said) == 1 else None
        if treatment is None and event in _AFTER_INJECTION:
            # A post-injection flare or an effusion follows an injection: the case's only injected treatment.
            injected = [t for t in names if vocab.category_of(t) in ("injection", "biologic")]
            treatment = injected[0] if len(injected) == 1 else None
        out.append(AdverseEvent(case_id=case.case_id, event=event, treatment=treatment, sentence=sentence))
    return list({(e.event, e.treatment): e for e in out}.values())


def index_sentence_finder(index: object) -> SentenceFinder:
    """Find, in the indexed (de-identified) chunks of the given cases, the sentences that report an adverse event."""

    def find(case_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        from qdrant_client import models

        if not case_ids or not getattr(index, "exists", lambda: False)():
            return {}
        flt = models.Filter(must=[models.FieldCondition(key="case_id", match=models.MatchAny(any=case_ids))])
        points = index.sparse_search(sparse_vector(_AE_QUERY, query=True), flt=flt,  # type: ignore[attr-defined]
                                     limit=max(50, 6 * len(case_ids)))
        out: dict[str, list[tuple[str, str]]] = {}
        for p in points:
            payload = p.payload or {}
            text = str(payload.get("text", ""))
            for m in _SENTENCE.finditer(text):
                sentence = m.group(0).strip()
                f = fold(sentence)
                if _SUMMARY_LINE.match(f):
                    continue  # the case summary's own list, not the note that reports the event
                for event, pat in AE_NAMES:
                    hit = pat.search(f)
                    if hit and not _NEGATED.search(f[max(0, hit.start() - 40):hit.start()]):
                        out.setdefault(str(payload.get("case_id")), []).append((event, sentence[:300]))
        return out

    return find


def run_cohort(plan: QuestionPlan, cases: Iterable[Case], vocab: Vocabulary = BUILTIN, *,
               sentences: SentenceFinder | None = None) -> Cohort:
    """Tabulate every case that matches the plan, per treatment arm."""
    every = list(cases)
    chosen = select_cases(plan, every)
    not_found: list[NotFound] = []
    for cond in plan.unknown_conditions:
        not_found.append(NotFound(kind="condition", value=cond))
    for t in plan.unknown_treatments:
        not_found.append(NotFound(kind="treatment", value=t))
    if plan.conditions and not chosen and not plan.unknown_conditions:
        held = {d.name for c in every for d in c.diagnoses}
        for cond in plan.condition_ids:
            if cond not in held:
                not_found.append(NotFound(kind="condition", value=cond, recorded=sorted(held)))
    # Arms: the asked treatments, else every treatment the cohort received (not an excluded or prior one).
    if plan.treatments:
        arm_names = [t for t in plan.treatments if t not in plan.exclusions]
    else:
        counts = Counter(name for c in chosen for name in dict.fromkeys(x.name for x in c.treatments)
                         if name not in plan.exclusions and name not in plan.prior_treatments)
        arm_names = [name for name, _ in counts.most_common()]
    found = sentences([c.case_id for c in chosen if c.adverse_events or c.adverse_event_links]) if sentences else {}
    arms: list[Arm] = []
    for name in arm_names:
        members = [c for c in chosen if _arm_treatments(plan, c, name)]
        if not members and plan.treatments and not plan.unknown_conditions:
            scope = [c for c in every if not plan.conditions or {d.name for d in c.diagnoses} & set(plan.condition_ids)]
            ever = any(t.name == name for c in scope for t in c.treatments)
            not_found.append(NotFound(kind="treatment", value=name,
                                      recorded=sorted({t.name for c in scope for t in c.treatments}) if not ever else []))
        episodes = [t for c in members for t in _arm_treatments(plan, c, name)]
        events = [e for c in members for e in _events(c, vocab, found) if e.treatment in (name, None)]
        arms.append(Arm(treatment=name, n_cases=len(members), case_ids=[c.case_id for c in members],
                        stats=_stats(members, name, vocab), regimen=_regimen(episodes),
                        n_adverse=len({e.case_id for e in events}), adverse_events=events))
    measures_recorded = sorted({s.measure for a in arms for s in a.stats})
    months_recorded = sorted({s.months for a in arms for s in a.stats})
    if chosen:
        for measure in plan.measures:
            if measure not in measures_recorded:
                not_found.append(NotFound(kind="measure", value=measure, recorded=measures_recorded))
        for measure in plan.unrecorded_measures:
            not_found.append(NotFound(kind="measure", value=measure, recorded=measures_recorded))
        asked = [m for m in plan.measures if m in measures_recorded] or measures_recorded
        months_held = sorted({s.months for a in arms for s in a.stats if s.measure in asked})
        for months in plan.time_points:
            if months not in months_held:
                not_found.append(NotFound(kind="time_point", value=f"{months:g}", recorded=[f"{x:g}" for x in months_held]))
    elif not not_found:
        not_found.append(NotFound(kind="cases", value="", recorded=[]))
    return Cohort(total_cases=len(every), n_cases=len(chosen), case_ids=sorted(c.case_id for c in chosen), arms=arms,
                  not_found=not_found, measures_recorded=measures_recorded, time_points_recorded=months_recorded)


def cohort_from_store(plan: QuestionPlan, store: Store, vocab: Vocabulary = BUILTIN, *,
                      sentences: SentenceFinder | None = None) -> Cohort:
    """`run_cohort` over every case in the store."""
    return run_cohort(plan, iter_cases(store), vocab, sentences=sentences)


def loosened(plan: QuestionPlan) -> QuestionPlan | None:
    """The asked condition without the asked treatments or prior treatments: what the records hold nearest to a
    question none of whose cases has what was asked ('BMAC in hip OA' -> hip OA, every treatment; 'after failed
    physiotherapy' -> the condition's other treatments). None when there is no condition or nothing to loosen: the
    nearest is never another condition."""
    if not plan.conditions or plan.unknown_conditions or not (plan.treatments or plan.prior_treatments):
        return None
    return plan.model_copy(update={"treatments": [], "prior_treatments": [], "unknown_treatments": []})


def nearest_cohort(plan: QuestionPlan, store: Store, vocab: Vocabulary = BUILTIN, *,
                   sentences: SentenceFinder | None = None) -> Cohort | None:
    """The loosened plan's cohort, without the arms of the prior treatments (they are what did not work), or None
    when loosening finds no case either."""
    loose = loosened(plan)
    if loose is None:
        return None
    cohort = cohort_from_store(loose, store, vocab, sentences=sentences)
    arms = [a for a in cohort.arms if a.treatment not in plan.prior_treatments and a.n_cases]
    if not cohort.n_cases or not arms:
        return None
    ids = sorted({cid for a in arms for cid in a.case_ids})
    return cohort.model_copy(update={"arms": arms, "case_ids": ids, "n_cases": len(ids)})
