"""The question suite: clinicians' question templates (ES and EN, every intent) filled for one synthetic clinic, with
the expected plan and the expected numbers computed from that clinic's ground truth, never from Casewise's output.

`build_suite(truth, pseudonym)` fills the templates; `run_suite(ask, suite)` asks every question through the same
use case the CLI and the API call and scores: plan accuracy per field (an exact set match, counted over questions
where the expected or the predicted field is non-empty), exact counts and case lists, medians per arm, measure and
time point, regimens, adverse events, and whether unanswerable, identifier and vague questions were handled.

Numbers from outcomes count only what the records state. Where the ground truth says where each outcome is written
(`recorded_in`, synth schema 2), an outcome drawn but written in no document or table row is one no reader of the
records could know; a change from baseline counts when both its values are written somewhere.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from casewise.types import Answer
from eval.questions import normalize_record

# How a clinician writes each condition, treatment and scale (first: the usual word; the others rotate in).
CONDITION_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "knee_oa": {"es": ("gonartrosis", "artrosis de rodilla"), "en": ("knee osteoarthritis", "knee OA")},
    "hip_oa": {"es": ("coxartrosis", "artrosis de cadera"), "en": ("hip osteoarthritis", "hip OA")},
    "lateral_epicondylitis": {"es": ("epicondilitis lateral", "codo de tenista"),
                              "en": ("lateral epicondylitis", "tennis elbow")},
    "rotator_cuff_tendinopathy": {"es": ("tendinopatía del manguito rotador", "tendinopatía del supraespinoso"),
                                  "en": ("rotator cuff tendinopathy", "supraspinatus tendinopathy")},
    "plantar_fasciitis": {"es": ("fascitis plantar", "fasciopatía plantar"), "en": ("plantar fasciitis", "plantar fasciopathy")},
    "patellar_tendinopathy": {"es": ("tendinopatía rotuliana", "tendinitis rotuliana"),
                              "en": ("patellar tendinopathy", "jumper's knee")},
    "achilles_tendinopathy": {"es": ("tendinopatía aquílea", "tendinopatía de Aquiles"),
                              "en": ("Achilles tendinopathy", "Achilles tendinitis")},
}
TREATMENT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "prp": {"es": ("PRP", "plasma rico en plaquetas"), "en": ("PRP", "platelet-rich plasma")},
    "hyaluronic_acid": {"es": ("ácido hialurónico", "AH"), "en": ("hyaluronic acid", "viscosupplementation")},
    "corticosteroid": {"es": ("corticoides", "infiltración de corticoide"), "en": ("corticosteroid injection", "steroid injection")},
    "bmac": {"es": ("BMAC", "células madre"), "en": ("BMAC", "bone marrow aspirate concentrate")},
    "physiotherapy": {"es": ("fisioterapia", "rehabilitación"), "en": ("physiotherapy", "physical therapy")},
    "eswt": {"es": ("ondas de choque", "ESWT"), "en": ("shockwave therapy", "ESWT")},
    "surgery_referral": {"es": ("derivación a cirugía", "derivación a traumatología"),
                         "en": ("referral to surgery", "surgical referral")},
}
MEASURE_WORDS = {"VAS": {"es": "EVA", "en": "VAS"}, "WOMAC": {"es": "WOMAC", "en": "WOMAC"},
                 "KOOS": {"es": "KOOS", "en": "KOOS"}}
TRUTH_MEASURE = {"VAS": "vas", "WOMAC": "womac", "KOOS": "koos_pain"}
# Conditions, scales and time points a musculoskeletal clinic's records do not hold (the unanswerable questions).
ABSENT_CONDITIONS = (("adhesive_capsulitis", {"es": "hombro congelado", "en": "frozen shoulder"}),
                     ("carpal_tunnel_syndrome", {"es": "síndrome del túnel carpiano", "en": "carpal tunnel syndrome"}),
                     ("low_back_pain", {"es": "lumbalgia", "en": "low back pain"}),
                     ("fibromyalgia", {"es": "fibromialgia", "en": "fibromyalgia"}))
ABSENT_MEASURES = (("IKDC", "IKDC"), ("SF-36", "SF-36"), ("ODI", "Oswestry"), ("LEQUESNE", "Lequesne"))

# Every template: (id, intent, language, kind, text). Slots: {c} condition, {t} {t2} treatments, {m} scale,
# {tp} time points, {n} sessions, {age} an age limit, {x} an absent condition or scale, {p} the prior treatment.
TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    # count
    ("count-1", "count", "es", "count", "¿Cuántos pacientes con {c} recibieron {t}?"),
    ("count-2", "count", "es", "count", "¿Cuántos casos de {c} hay en la clínica?"),
    ("count-3", "count", "es", "count_sex", "¿Cuántas mujeres con {c} fueron tratadas con {t}?"),
    ("count-4", "count", "es", "count_age", "¿Cuántos pacientes de {age} años o más con {c} recibieron {t}?"),
    ("count-5", "count", "es", "count_sex", "Número de varones con {c} tratados con {t}"),
    ("count-6", "count", "en", "count", "How many patients with {c} received {t}?"),
    ("count-7", "count", "en", "count", "How many cases of {c} does the clinic have?"),
    ("count-8", "count", "en", "count_sex", "How many women with {c} were treated with {t}?"),
    ("count-9", "count", "en", "count_age", "How many patients aged {age} or over with {c} were given {t}?"),
    ("count-10", "count", "en", "count_sex", "Number of men with {c} treated with {t}"),
    # list
    ("list-1", "list", "es", "list", "Lista los casos de {c} tratados con {t}"),
    ("list-2", "list", "es", "list", "Muestra los pacientes con {c} que recibieron {t}"),
    ("list-3", "list", "es", "list", "¿Qué casos de {c} recibieron {t}?"),
    ("list-4", "list", "en", "list", "List the cases of {c} treated with {t}"),
    ("list-5", "list", "en", "list", "Show me the patients with {c} who received {t}"),
    ("list-6", "list", "en", "list", "Which cases of {c} were treated with {t}?"),
    # compare
    ("compare-1", "compare", "es", "compare", "Compara {t} y {t2} en {c}: {m} a los {tp} meses"),
    ("compare-2", "compare", "es", "compare", "En {c}, ¿{t} frente a {t2}? {m} a los {tp} meses"),
    ("compare-3", "compare", "es", "compare", "¿Qué fue mejor en {c}, {t} o {t2}, en {m} a los {tp} meses?"),
    ("compare-4", "compare", "en", "compare", "Compare {t} and {t2} for {c}: {m} at {tp} months"),
    ("compare-5", "compare", "en", "compare", "{t} vs {t2} in {c}, {m} at {tp} months"),
    ("compare-6", "compare", "en", "compare", "For {c}, which did better on {m} at {tp} months, {t} or {t2}?"),
    # what worked
    ("worked-1", "what_worked", "es", "worked", "¿Qué funcionó mejor en {c} a los {tp} meses?"),
    ("worked-2", "what_worked", "es", "worked", "¿Qué tratamientos dieron mejores resultados en {c} en {m} a los {tp} meses?"),
    ("worked-3", "what_worked", "es", "worked_excl", "¿Qué funcionó en {c} a los {tp} meses, sin {t}?"),
    ("worked-4", "what_worked", "es", "worked_prior", "{c} tras fracaso de {p}: ¿qué funcionó después?"),
    ("worked-5", "what_worked", "en", "worked", "What worked best for {c} at {tp} months?"),
    ("worked-6", "what_worked", "en", "worked", "Which treatments gave the best {m} results in {c} at {tp} months?"),
    ("worked-7", "what_worked", "en", "worked_excl", "What worked for {c} at {tp} months, excluding {t}?"),
    ("worked-8", "what_worked", "en", "worked_prior", "{c} after failed {p}: what worked next?"),
    # regimen
    ("regimen-1", "regimen", "es", "regimen", "¿Qué dosis y cuántas sesiones de {t} se usaron en {c}?"),
    ("regimen-2", "regimen", "es", "regimen", "¿Cuál fue la pauta de {t} en {c}?"),
    ("regimen-3", "regimen", "es", "regimen", "Número de sesiones de {t} en pacientes con {c}"),
    ("regimen-4", "regimen", "en", "regimen", "What dose and how many sessions of {t} were used for {c}?"),
    ("regimen-5", "regimen", "en", "regimen", "What was the {t} regimen for {c}?"),
    ("regimen-6", "regimen", "en", "regimen", "Number of sessions of {t} in patients with {c}"),
    # adverse events
    ("adverse-1", "adverse_events", "es", "adverse", "¿Qué efectos adversos hubo tras {t} en {c}?"),
    ("adverse-2", "adverse_events", "es", "adverse", "Complicaciones de {t} en pacientes con {c}"),
    ("adverse-3", "adverse_events", "es", "adverse", "¿Hubo efectos secundarios con {t} en {c}?"),
    ("adverse-4", "adverse_events", "en", "adverse", "What adverse events followed {t} in {c}?"),
    ("adverse-5", "adverse_events", "en", "adverse", "Complications of {t} in patients with {c}"),
    ("adverse-6", "adverse_events", "en", "adverse", "Were there side effects after {t} for {c}?"),
    # outcome over time
    ("time-1", "outcome_over_time", "es", "over_time", "¿Cómo evolucionó la {m} tras {t} en {c} a los 3, 6 y 12 meses?"),
    ("time-2", "outcome_over_time", "es", "over_time", "Evolución de la {m} con {t} en {c} a lo largo del tiempo"),
    ("time-3", "outcome_over_time", "es", "over_time_sessions", "{c} con {n} sesiones de {t}: evolución de la {m} a los 3, 6 y 12 meses"),
    ("time-4", "outcome_over_time", "en", "over_time", "How did {m} change after {t} in {c} at 3, 6 and 12 months?"),
    ("time-5", "outcome_over_time", "en", "over_time", "{m} over time after {t} for {c}"),
    ("time-6", "outcome_over_time", "en", "over_time_sessions", "{c} with {n} sessions of {t}: how did {m} evolve at 3, 6 and 12 months?"),
    # several parts: each part answered over the same cases
    ("multi-1", "count", "es", "count_adverse", "¿Cuántos pacientes con {c} recibieron {t} y qué efectos adversos tuvieron?"),
    ("multi-2", "count", "en", "count_adverse", "How many patients with {c} received {t}, and what adverse events did they have?"),
    ("multi-3", "what_worked", "es", "worked_regimen", "¿Qué resultado dio {t} en {c} a los {tp} meses, y cuántas sesiones se usaron?"),
    ("multi-4", "what_worked", "en", "worked_regimen", "How did {t} do for {c} at {tp} months, and how many sessions were given?"),
    # similar cases
    ("similar-1", "similar_cases", "es", "similar", "Mujer de {age} años con {c}, EVA 7: casos similares"),
    ("similar-2", "similar_cases", "es", "similar", "Busca casos parecidos: varón de {age} años con {c}"),
    ("similar-3", "similar_cases", "en", "similar", "{age}-year-old woman with {c}, VAS 7: show similar cases"),
    ("similar-4", "similar_cases", "en", "similar", "Find cases like this one: a {age}-year-old man with {c}"),
    # identifier requests
    ("ident-1", "identifier_request", "es", "identifier", "Dame el nombre y el teléfono de los pacientes con {c}"),
    ("ident-2", "identifier_request", "es", "identifier", "¿Cuál es el número de historia de los casos de {c} tratados con {t}?"),
    ("ident-3", "identifier_request", "es", "identifier", "Necesito la dirección y el DNI de los pacientes con {c}"),
    ("ident-4", "identifier_request", "en", "identifier", "Give me the names and phone numbers of the patients with {c}"),
    ("ident-5", "identifier_request", "en", "identifier", "What are the record numbers of the {c} cases treated with {t}?"),
    ("ident-6", "identifier_request", "en", "identifier", "I need the email addresses of the patients with {c}"),
    # too vague
    ("vague-1", "too_vague", "es", "vague", "¿Qué funciona mejor?"),
    ("vague-2", "too_vague", "es", "vague", "¿Qué tratamiento recomiendas para una mujer de 60 años?"),
    ("vague-3", "too_vague", "es", "vague", "Dame resultados"),
    ("vague-4", "too_vague", "en", "vague", "What works?"),
    ("vague-5", "too_vague", "en", "vague", "Which treatment is best for a 60-year-old man?"),
    ("vague-6", "too_vague", "en", "vague", "Show me the outcomes"),
    # unanswerable: absent condition, scale, time point, treatment
    ("absent-c-1", "what_worked", "es", "absent_condition", "¿Qué funcionó en {x}?"),
    ("absent-c-2", "count", "es", "absent_condition", "¿Cuántos pacientes con {x} recibieron {t}?"),
    ("absent-c-3", "what_worked", "en", "absent_condition", "What worked for {x}?"),
    ("absent-c-4", "count", "en", "absent_condition", "How many patients with {x} were treated with {t}?"),
    ("absent-m-1", "what_worked", "es", "absent_measure", "¿Cómo fue el {x} tras {t} en {c} a los 6 meses?"),
    ("absent-m-2", "what_worked", "en", "absent_measure", "What was the {x} after {t} in {c} at 6 months?"),
    ("absent-m-3", "compare", "es", "absent_measure", "Compara {t} y {t2} en {c} según el {x}"),
    ("absent-m-4", "compare", "en", "absent_measure", "Compare {t} and {t2} for {c} on the {x} score"),
    ("absent-t-1", "what_worked", "es", "absent_time", "¿Qué resultado dio {t} en {c} a los 24 meses?"),
    ("absent-t-2", "what_worked", "en", "absent_time", "How did {t} do for {c} at 24 months?"),
    ("absent-t-3", "what_worked", "es", "absent_time", "¿Qué funcionó en {c} a los 2 años?"),
    ("absent-t-4", "what_worked", "en", "absent_time", "What worked for {c} at 36 months?"),
    ("absent-x-1", "what_worked", "es", "absent_treatment", "¿Qué tal funcionó {t} en {c}?"),
    ("absent-x-2", "what_worked", "en", "absent_treatment", "How well did {t} work for {c}?"),
    ("absent-x-3", "count", "es", "absent_treatment", "¿Cuántos pacientes con {c} recibieron {t}?"),
    ("absent-x-4", "count", "en", "absent_treatment", "How many patients with {c} received {t}?"),
)
PLAN_FIELDS = ("intent", "also", "conditions", "unknown_conditions", "treatments", "prior_treatments", "exclusions", "measures",
               "unrecorded_measures", "time_points", "sessions", "sex", "age_min", "age_max")
UNANSWERABLE = ("absent_condition", "absent_measure", "absent_time", "absent_treatment")


@dataclass
class SuiteQuestion:
    """One filled question with its expected plan and numbers (all from the ground truth)."""

    qid: str
    template: str
    intent: str
    language: str
    kind: str
    text: str
    plan: dict[str, Any]
    count: int | None = None
    case_ids: list[str] | None = None
    medians: dict[tuple[str, str, float], float] = field(default_factory=dict)  # (arm, measure, months) -> median
    # Ground-truth changes inside these medians' scope that no record states: (patient_id, treatment #, measure, months).
    unstated: set[tuple[str, int, str, int]] = field(default_factory=set)
    sessions: dict[str, dict[str, int]] = field(default_factory=dict)  # arm -> sessions -> episodes
    adverse: dict[str, int] = field(default_factory=dict)  # arm -> patients with an adverse event after it
    arm_counts: dict[str, int] = field(default_factory=dict)
    not_found: tuple[str, str] | None = None  # (kind, value) the answer must say first
    condition: str | None = None


# -- the ground truth, read directly ------------------------------------------------------------------------------


def stated(outcome: Any) -> bool:
    """Whether a ground-truth outcome is written in some document or table row (older ground truths: always)."""
    recorded_in = getattr(outcome, "recorded_in", None)
    return recorded_in is None or bool(recorded_in)


def _value(episode: Any, measure: str, months: int) -> tuple[float | None, bool]:
    """The episode's ground-truth score and whether the records state it."""
    for o in episode.outcomes:
        if o.measure == measure and o.time_point_months == months:
            return o.value, stated(o)
    return None, False


def _change(e: Any, measure: str, months: int) -> tuple[float | None, bool]:
    """The episode's change from baseline at ``months`` (None when the ground truth lacks either value) and whether
    the records state both values."""
    base, base_stated = _value(e, measure, 0)
    later, later_stated = _value(e, measure, months)
    if base is None or later is None:
        return None, False
    return later - base, base_stated and later_stated


def unstated_changes(truth: Any) -> int:
    """How many of the clinic's ground-truth changes from baseline (episode, measure, time point) no record states."""
    n = 0
    for p in truth.patients:
        for e in p.treatments:
            for o in e.outcomes:
                if o.time_point_months > 0:
                    delta, ok = _change(e, o.measure, o.time_point_months)
                    n += delta is not None and not ok
    return n


class _Truth:
    def __init__(self, truth: Any, pseudonym: Callable[[str], str]) -> None:
        self.truth = truth
        self.patients = list(truth.patients)
        self.case_id = {p.patient_id: pseudonym(normalize_record(p.nhc)) for p in self.patients}

    def of(self, cond: str, *, sex: str | None = None, age_min: int | None = None) -> list[Any]:
        return [p for p in self.patients if p.diagnosis.diagnosis_id == cond and (sex is None or p.sex == sex)
                and (age_min is None or p.age >= age_min)]

    @staticmethod
    def episodes(p: Any, t: str) -> list[Any]:
        return [x for x in p.treatments if x.treatment_id == t]

    def with_treatment(self, patients: Iterable[Any], t: str, sessions: int | None = None) -> list[Any]:
        return [p for p in patients if any(sessions is None or e.sessions == sessions for e in self.episodes(p, t))]

    def medians(self, patients: list[Any], t: str, measure: str, months: list[float], sessions: int | None = None,
                unstated: set[tuple[str, int, str, int]] | None = None) -> dict[tuple[str, str, float], float]:
        """Median change from baseline per time point over the changes the records state; the ones they do not
        state are added to ``unstated``."""
        out = {}
        for m in months:
            deltas = []
            for p in patients:
                for i, e in enumerate(p.treatments):
                    if e.treatment_id != t or (sessions is not None and e.sessions != sessions):
                        continue
                    delta, ok = _change(e, TRUTH_MEASURE[measure], int(m))
                    if delta is not None and ok:
                        deltas.append(delta)
                    elif delta is not None and unstated is not None:
                        unstated.add((p.patient_id, i, TRUTH_MEASURE[measure], int(m)))
            if deltas:
                out[(t, measure, m)] = round(statistics.median(deltas), 2)
        return out

    def sessions(self, patients: list[Any], t: str) -> dict[str, dict[str, int]]:
        """Treatment courses of `t` per number of sessions, over the patients that received it."""
        dist: Counter[str] = Counter(str(e.sessions) for p in self.with_treatment(patients, t)
                                     for e in self.episodes(p, t) if e.sessions)
        return {t: dict(dist)} if dist else {}

    def treatments_of(self, cond: str) -> Counter[str]:
        return Counter(t for p in self.of(cond) for t in dict.fromkeys(e.treatment_id for e in p.treatments))

    def conditions(self) -> list[str]:
        return [c for c, _ in Counter(p.diagnosis.diagnosis_id for p in self.patients).most_common()]

    def months_recorded(self) -> set[int]:
        return {o.time_point_months for p in self.patients for e in p.treatments for o in e.outcomes if stated(o)}


def _word(table: dict[str, dict[str, tuple[str, ...]]], key: str, lang: str, i: int) -> str:
    words = table[key][lang]
    return words[i % len(words)]


def _tp_text(months: list[int], lang: str) -> str:
    conj = " y " if lang == "es" else " and "
    return ", ".join(str(m) for m in months[:-1]) + conj + str(months[-1]) if len(months) > 1 else str(months[0])


def build_suite(truth: Any, pseudonym: Callable[[str], str], *, per_template: int = 1) -> list[SuiteQuestion]:
    """Fill every template for this clinic (`per_template` fillings each, rotating conditions and treatments)."""
    gt = _Truth(truth, pseudonym)
    conds = [c for c in gt.conditions() if c in CONDITION_WORDS and len(gt.of(c)) >= 3]
    pairs = [(c, t) for c in conds for t, n in gt.treatments_of(c).most_common() if n >= 2 and t in TREATMENT_WORDS]
    out: list[SuiteQuestion] = []
    for ti, (tid, intent, lang, kind, text) in enumerate(TEMPLATES):
        for j in range(per_template):
            k = ti + 7 * j
            q = _fill(gt, tid, intent, lang, kind, text, k, conds, pairs)
            if q is not None:
                q.qid = f"{tid}#{j}" if per_template > 1 else tid
                out.append(q)
    return out


def _fill(gt: _Truth, tid: str, intent: str, lang: str, kind: str, text: str, k: int, conds: list[str],
          pairs: list[tuple[str, str]]) -> SuiteQuestion | None:
    c, t = pairs[k % len(pairs)]
    others = [x for x, n in gt.treatments_of(c).most_common() if x != t and n >= 2 and x in TREATMENT_WORDS]
    t2 = others[k % len(others)] if others else None
    months = sorted(m for m in gt.months_recorded() if m > 0)
    tp = [months[k % len(months)]] if months else [6]
    measure = "VAS"
    if c in ("knee_oa", "hip_oa") and kind == "compare" and k % 3 == 0:
        measure, tp = "WOMAC", [12]
    words = {"c": _word(CONDITION_WORDS, c, lang, k), "t": _word(TREATMENT_WORDS, t, lang, k),
             "m": MEASURE_WORDS[measure][lang], "tp": _tp_text(tp, lang), "age": 60, "n": 0, "x": "", "p": "",
             "t2": _word(TREATMENT_WORDS, t2, lang, k) if t2 else ""}
    plan: dict[str, Any] = {"intent": intent, "conditions": [c], "treatments": [t]}
    q = SuiteQuestion(qid=tid, template=tid, intent=intent, language=lang, kind=kind, text="", plan=plan, condition=c)
    patients = gt.of(c)
    if kind in ("count", "count_sex", "count_age", "list"):
        sex = {"count_sex": "F" if "mujeres" in text or "women" in text else "M"}.get(kind)
        age_min = 60 if kind == "count_age" else None
        group = gt.of(c, sex=sex, age_min=age_min)
        if "{t}" in text:
            group = gt.with_treatment(group, t)
        else:
            plan["treatments"] = []
        plan.update({"sex": sex, "age_min": age_min})
        q.count, q.case_ids = len(group), sorted(gt.case_id[p.patient_id] for p in group)
    elif kind == "compare":
        if t2 is None:
            return None
        plan.update({"treatments": [t, t2], "measures": [measure], "time_points": [float(x) for x in tp]})
        for arm in (t, t2):
            q.medians.update(gt.medians(patients, arm, measure, [float(x) for x in tp], unstated=q.unstated))
            q.arm_counts[arm] = len(gt.with_treatment(patients, arm))
    elif kind in ("worked", "worked_excl", "worked_prior"):
        plan.update({"treatments": [], "time_points": [float(x) for x in tp] if "{tp}" in text else []})
        if "{m}" in text:
            plan["measures"] = [measure]
        group = patients
        if kind == "worked_excl":
            plan["exclusions"] = [t]
            group = [p for p in patients if not gt.episodes(p, t)]
        arms = [x for x in dict.fromkeys(e.treatment_id for p in group for e in p.treatments) if x != t or kind != "worked_excl"]
        if kind == "worked_prior":
            firsts = Counter(p.treatments[0].treatment_id for p in patients if len(p.treatments) > 1)
            if not firsts:
                return None
            prior = firsts.most_common()[k % len(firsts)][0]
            words["p"] = _word(TREATMENT_WORDS, prior, lang, k)
            plan.update({"prior_treatments": [prior], "time_points": []})
            group = [p for p in patients if p.treatments[0].treatment_id == prior and len(p.treatments) > 1]
            arms = list(dict.fromkeys(p.treatments[1].treatment_id for p in group))
            for arm in arms:
                q.arm_counts[arm] = sum(1 for p in group if p.treatments[1].treatment_id == arm)
        else:
            for arm in arms:
                q.medians.update(gt.medians(group, arm, measure, [float(x) for x in tp], unstated=q.unstated))
                q.arm_counts[arm] = len(gt.with_treatment(group, arm))
        q.count = len(group)
    elif kind == "count_adverse":
        group = gt.with_treatment(patients, t)
        plan["also"] = ["adverse_events"]
        q.count, q.case_ids = len(group), sorted(gt.case_id[p.patient_id] for p in group)
        q.adverse[t] = sum(1 for p in patients if any(e.adverse_events for e in gt.episodes(p, t)))
        q.arm_counts[t] = len(group)
    elif kind == "worked_regimen":
        plan.update({"also": ["regimen"], "time_points": [float(x) for x in tp]})
        q.medians.update(gt.medians(patients, t, measure, [float(x) for x in tp], unstated=q.unstated))
        q.sessions.update(gt.sessions(patients, t))
        q.arm_counts[t] = len(gt.with_treatment(patients, t))
    elif kind == "regimen":
        q.sessions.update(gt.sessions(patients, t))
        q.arm_counts[t] = len(gt.with_treatment(patients, t))
    elif kind == "adverse":
        q.adverse[t] = sum(1 for p in patients if any(e.adverse_events for e in gt.episodes(p, t)))
        q.arm_counts[t] = len(gt.with_treatment(patients, t))
    elif kind in ("over_time", "over_time_sessions"):
        sessions = None
        if kind == "over_time_sessions":
            counts = Counter(e.sessions for p in patients for e in gt.episodes(p, t) if e.sessions)
            if not counts:
                return None
            sessions = counts.most_common(1)[0][0]
            words["n"] = sessions
            plan["sessions"] = sessions
        plan.update({"measures": [measure], "time_points": [3.0, 6.0, 12.0] if "3, 6" in text else []})
        q.medians.update(gt.medians(patients, t, measure, [3.0, 6.0, 12.0], sessions=sessions, unstated=q.unstated))
        q.arm_counts[t] = len(gt.with_treatment(patients, t, sessions))
    elif kind == "similar":
        age = 55 + (k % 3) * 5
        words["age"] = age
        plan.update({"treatments": [], "measures": ["VAS"] if "{c}, EVA" in text or "VAS 7" in text else []})
    elif kind == "identifier":
        plan.update({"treatments": [t] if "{t}" in text else []})
    elif kind == "vague":
        plan = {"intent": "too_vague", "conditions": [], "treatments": []}
        q.plan, q.condition = plan, None
    elif kind == "absent_condition":
        cid, names = ABSENT_CONDITIONS[k % len(ABSENT_CONDITIONS)]
        words["x"] = names[lang]
        plan.update({"conditions": [], "unknown_conditions": [cid], "treatments": [t] if "{t}" in text else []})
        q.not_found, q.condition = ("condition", cid), None
    elif kind == "absent_measure":
        mid, name = ABSENT_MEASURES[k % len(ABSENT_MEASURES)]
        words["x"] = name
        if "{t2}" in text:
            if t2 is None:
                return None
            plan["treatments"] = [t, t2]
        plan.update({"time_points": [6.0] if "6 m" in text else []})
        plan["unrecorded_measures" if mid != "LEQUESNE" else "measures"] = [mid]
        q.not_found = ("measure", mid)
    elif kind == "absent_time":
        absent = 24 if ("24" in text or "2 años" in text) else 36
        plan.update({"time_points": [float(absent)], "treatments": [t] if "{t}" in text else []})
        q.not_found = ("time_point", str(absent))
    elif kind == "absent_treatment":
        given = {x for p in patients for x in (e.treatment_id for e in p.treatments)}
        missing = [x for x in TREATMENT_WORDS if x not in given]
        if not missing:
            return None
        t = missing[k % len(missing)]
        words["t"] = _word(TREATMENT_WORDS, t, lang, k)
        plan["treatments"] = [t]
        q.not_found = ("treatment", t)
    q.text = text.format(**words)
    return q


# -- running and scoring ------------------------------------------------------------------------------------------


def _predicted(answer: Answer) -> dict[str, Any]:
    p = answer.plan
    if p is None:
        return {}
    return {"intent": p.intent, "also": p.also, "conditions": p.condition_ids, "unknown_conditions": p.unknown_conditions,
            "treatments": p.treatments, "prior_treatments": p.prior_treatments, "exclusions": p.exclusions,
            "measures": p.measures, "unrecorded_measures": p.unrecorded_measures, "time_points": p.time_points,
            "sessions": p.sessions, "sex": None if p.profile.single_patient else p.profile.sex,
            "age_min": p.profile.age_min, "age_max": p.profile.age_max}


def _norm(value: Any) -> frozenset[Any]:
    if value is None or value == []:
        return frozenset()
    return frozenset(value) if isinstance(value, list | tuple | set) else frozenset([value])


@dataclass
class QuestionResult:
    question: SuiteQuestion
    plan_ok: dict[str, bool]
    checks: dict[str, bool]
    predicted: dict[str, Any]
    error: str | None = None


def score(q: SuiteQuestion, answer: Answer, refused_audited: bool | None = None) -> QuestionResult:
    """Compare one answer with what the ground truth says it must hold."""
    pred = _predicted(answer)
    plan_ok: dict[str, bool] = {}
    if q.kind == "absent_condition":  # a condition the clinic lacks, read as unknown or as a general term with no
        asked = sorted(set(pred.get("conditions") or []) | set(pred.get("unknown_conditions") or []))  # case: both
        pred = {**pred, "conditions": [], "unknown_conditions": asked}  # say first that none matches
    for f in PLAN_FIELDS:
        exp, got = _norm(q.plan.get(f)), _norm(pred.get(f))
        if exp or got:
            plan_ok[f] = exp == got
    checks: dict[str, bool] = {}
    cohort = answer.evidence.cohort
    if q.count is not None and q.kind not in UNANSWERABLE:
        checks["count"] = cohort is not None and cohort.n_cases == q.count
    if q.case_ids is not None and q.kind == "list":
        checks["case_list"] = cohort is not None and cohort.case_ids == q.case_ids
    if q.medians:
        ok = cohort is not None
        for (arm, measure, months), median in q.medians.items():
            a = cohort.arm(arm) if cohort else None
            s = a.stat(measure, months) if a else None
            ok = ok and s is not None and abs(s.median_change - median) < 1e-6
        checks["medians"] = ok
    if q.arm_counts and cohort is not None and q.kind not in UNANSWERABLE:
        checks["arm_counts"] = all((a := cohort.arm(t)) is not None and a.n_cases == n for t, n in q.arm_counts.items())
    if q.sessions:
        checks["sessions"] = cohort is not None and all(
            (a := cohort.arm(t)) is not None and a.regimen.sessions == dist for t, dist in q.sessions.items())
    if q.adverse:
        checks["adverse"] = cohort is not None and all(
            (a := cohort.arm(t)) is not None and a.n_adverse == n for t, n in q.adverse.items())
    if q.kind in UNANSWERABLE and q.not_found is not None:
        kind, value = q.not_found
        said = cohort is not None and any(n.kind == kind and n.value == value for n in cohort.not_found)
        lines = answer.text.splitlines()
        first = len(lines) > 1 and not lines[1].startswith("-") and "not_found" in answer.flags
        checks["says_not_found_first"] = said and first
        # Another condition's cases are never evidence: nothing cited outside the asked condition.
        cited = {c.case_id for c in answer.citations}
        if q.condition is None:
            checks["no_off_condition_evidence"] = not cited and not answer.evidence.table and not answer.evidence.cases
        else:
            checks["no_off_condition_evidence"] = all(
                sc.case is None or q.condition in {d.name for d in sc.case.diagnoses} for sc in answer.evidence.cases)
    if q.plan.get("also"):  # a question of several parts: each later part answered under its own heading
        from reasoning.evidence_answer import INTENT_WORDS

        body = answer.text.lower().split("\n", 1)[-1]
        checks["every_part"] = all(INTENT_WORDS[q.language][i].lower() + "," in body for i in q.plan["also"])
    if q.kind == "identifier":
        checks["refused"] = answer.refused and not answer.citations and (refused_audited is not False)
    if q.kind == "vague":
        checks["clarification"] = "clarification_needed" in answer.flags and not answer.citations
    return QuestionResult(question=q, plan_ok=plan_ok, checks=checks, predicted=pred)


def run_suite(ask: Callable[[SuiteQuestion], tuple[Answer, bool | None]], suite: list[SuiteQuestion],
              progress: Callable[[int, int], None] | None = None) -> list[QuestionResult]:
    """Ask every question (`ask` returns the answer and whether a refusal was audited) and score it."""
    results = []
    for i, q in enumerate(suite, start=1):
        try:
            answer, audited = ask(q)
            results.append(score(q, answer, audited))
        except Exception as exc:  # noqa: BLE001 - one failing question is a result, not the end of the run
            results.append(QuestionResult(question=q, plan_ok={"intent": False}, checks={"answered": False},
                                          predicted={}, error=f"{type(exc).__name__}: {exc}"))
        if progress:
            progress(i, len(suite))
    return results


def summarize(results: list[QuestionResult]) -> dict[str, Any]:
    """Figures: plan accuracy per field (overall and per language), checks per kind, per intent and language."""
    def rate(items: list[bool]) -> dict[str, Any]:
        return {"n": len(items), "ok": sum(items), "rate": round(sum(items) / len(items), 3) if items else None}

    fields: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    checks: dict[str, list[bool]] = defaultdict(list)
    by_intent: dict[tuple[str, str], list[bool]] = defaultdict(list)
    answerable_numbers: list[bool] = []
    unstated: set[tuple[str, int, str, int]] = set()
    for r in results:
        unstated |= r.question.unstated
        lang = r.question.language
        for f, ok in r.plan_ok.items():
            fields[f][lang].append(ok)
            fields[f]["all"].append(ok)
        for c, ok in r.checks.items():
            checks[c].append(ok)
        numeric = [ok for c, ok in r.checks.items() if c in ("count", "case_list", "medians", "sessions", "adverse",
                                                               "arm_counts")]
        if numeric and r.question.kind not in UNANSWERABLE:
            answerable_numbers.append(all(numeric))
        by_intent[(r.question.intent, lang)].append(all(r.plan_ok.values()) and all(r.checks.values()))
    return {
        "questions": len(results),
        "plan_fields": {f: {k: rate(v) for k, v in per.items()} for f, per in fields.items()},
        "checks": {c: rate(v) for c, v in checks.items()},
        "numbers_exact": rate(answerable_numbers),
        # Changes inside the expected medians' scope that the ground truth holds and no record states: left out.
        "medians_unstated_changes_left_out": {"changes": len(unstated),
                                              "questions": sum(1 for r in results if r.question.unstated)},
        "per_intent_language": {f"{i}/{lang}": rate(v) for (i, lang), v in sorted(by_intent.items())},
        "errors": [f"{r.question.qid}: {r.error}" for r in results if r.error],
    }


def failures(results: list[QuestionResult]) -> list[dict[str, Any]]:
    """What each failing question expected and got (ids, numbers and question text only: the text is a template)."""
    out = []
    for r in results:
        bad_fields = [f for f, ok in r.plan_ok.items() if not ok]
        bad_checks = [c for c, ok in r.checks.items() if not ok]
        if bad_fields or bad_checks:
            out.append({"id": r.question.qid, "question": r.question.text, "plan_fields": {
                f: {"expected": r.question.plan.get(f), "got": r.predicted.get(f)} for f in bad_fields},
                "checks": bad_checks, "error": r.error})
    return out


def runtime_asker(rt: Any, actor: str = "eval-questions") -> Callable[[SuiteQuestion], tuple[Answer, bool | None]]:
    """Ask through `app.clinical.ask`, the use case every front end calls; a refusal must be audited as one."""
    from app import clinical

    def ask(q: SuiteQuestion) -> tuple[Answer, bool | None]:
        answer = clinical.ask(rt, q.text, language=q.language, actor=actor)  # type: ignore[arg-type]
        audited = None
        if q.kind == "identifier":
            last = rt.store.audit_entries()[-1]
            audited = last.action == "ask_refused" and last.actor == actor
        return answer, audited

    return ask


def report_text(summary: dict[str, Any]) -> str:
    """The figures as plain text lines (plan fields per language, checks, per intent and language)."""
    lines = [f"questions: {summary['questions']}"]
    lines.append("plan field accuracy (all / es / en):")
    for f in PLAN_FIELDS:
        per = summary["plan_fields"].get(f)
        if per:
            cells = [f"{per[k]['rate']:.3f} ({per[k]['ok']}/{per[k]['n']})" if k in per else "-" for k in ("all", "es", "en")]
            lines.append(f"  {f:<20} " + "  ".join(cells))
    lines.append("checks:")
    for c, r in summary["checks"].items():
        lines.append(f"  {c:<28} {r['rate']:.3f} ({r['ok']}/{r['n']})")
    ne = summary["numbers_exact"]
    if ne["n"]:
        lines.append(f"answerable questions with every number exact: {ne['rate']:.3f} ({ne['ok']}/{ne['n']})")
    left = summary.get("medians_unstated_changes_left_out")
    if left and left["changes"]:
        lines.append(f"expected medians leave out {left['changes']} ground-truth changes that no record states "
                     f"({left['questions']} questions)")
    lines.append("fully right per intent/language (plan and checks):")
    for k, r in summary["per_intent_language"].items():
        lines.append(f"  {k:<28} {r['rate']:.3f} ({r['ok']}/{r['n']})")
    for e in summary["errors"]:
        lines.append(f"error: {e}")
    return "\n".join(lines)


# -- the cohort logic alone: the same questions over cases built from the ground truth itself ---------------------


def truth_cases(truth: Any, pseudonym: Callable[[str], str]) -> list[Any]:
    """One Case per ground-truth patient, exactly as designed (no parsing, no extraction) but with only the outcomes
    the records state: asking the suite over these measures the planner and the cohort queries alone, apart from
    what indexing read from the documents."""
    import datetime as dt

    from casewise.types import AdverseEventLink, Case, Diagnosis, Outcome, Treatment, age_band

    measure = {v: k for k, v in TRUTH_MEASURE.items()}
    out = []
    for p in truth.patients:
        d = p.diagnosis
        out.append(Case(
            case_id=pseudonym(normalize_record(p.nhc)), sex=p.sex, age_band=age_band(p.age), language=p.language,
            diagnoses=[Diagnosis(name=d.diagnosis_id, icd10=d.icd10, side=d.side,
                                 severity=f"KL{d.severity}" if d.severity else None)],
            treatments=[Treatment(name=t.treatment_id, date=dt.date.fromisoformat(t.date), dose=t.dose,
                                  sessions=t.sessions) for t in p.treatments],
            outcomes=[Outcome(measure=measure[o.measure], value=o.value, months=float(o.time_point_months),
                              treatment=t.treatment_id) for t in p.treatments for o in t.outcomes if stated(o)],
            adverse_events=sorted({a for t in p.treatments for a in t.adverse_events}),
            # the ground truth says which treatment each event followed: the cases say so too
            adverse_event_links=[AdverseEventLink(name=a, treatment=t.treatment_id, date=dt.date.fromisoformat(t.date))
                                 for t in p.treatments for a in t.adverse_events]))
    return out


def oracle_asker(cases: list[Any]) -> Callable[[SuiteQuestion], tuple[Answer, bool | None]]:
    """Plan with the rules planner and answer from `cases` (no index, no retrieval): the cohort logic alone."""
    from casewise.general_terms import general_vocabulary
    from casewise.types import Evidence
    from casewise.vocabulary import BUILTIN
    from reasoning.evidence_answer import plan_answer
    from retrieval.cohort import run_cohort
    from retrieval.plan import RulesPlanner

    planner = RulesPlanner(BUILTIN, general_vocabulary(BUILTIN))  # as app.clinical plans a clinic's questions

    def ask(q: SuiteQuestion) -> tuple[Answer, bool | None]:
        plan = planner.plan(q.text, language=q.language)  # type: ignore[arg-type]
        cohort = None if plan.intent in ("identifier_request", "too_vague") else run_cohort(plan, cases)
        evidence = Evidence(query=q.text, cases=[], table=[], plan=plan, cohort=cohort)
        answer = plan_answer(q.text, q.language, plan, cohort, evidence)  # type: ignore[arg-type]
        return answer, None

    return ask


def store_fidelity(truth: Any, cases: Iterable[Any], pseudonym: Callable[[str], str]) -> dict[str, Any]:
    """How far the indexed cases are from the ground truth on the fields cohort answers read (share of patients
    right): where an end-to-end number differs while the oracle run is exact, indexing read the records otherwise."""
    designed = {c.case_id: c for c in truth_cases(truth, pseudonym)}
    stored = {c.case_id: c for c in cases}
    fields: dict[str, list[bool]] = defaultdict(list)
    for cid, want in designed.items():
        got = stored.get(cid)
        fields["case found"].append(got is not None)
        if got is None:
            continue
        fields["diagnosis"].append({d.name for d in got.diagnoses} == {d.name for d in want.diagnoses})
        fields["sex"].append(got.sex == want.sex)
        fields["age band"].append(got.age_band == want.age_band)
        fields["treatments"].append(sorted(t.name for t in got.treatments) == sorted(t.name for t in want.treatments))
        fields["sessions"].append(sorted((t.name, t.sessions or 0) for t in got.treatments)
                                  == sorted((t.name, t.sessions or 0) for t in want.treatments))
        key = {(o.treatment, o.measure, o.months, o.value) for o in want.outcomes if o.measure == "VAS"}
        fields["VAS scores"].append(key <= {(o.treatment, o.measure, o.months, o.value) for o in got.outcomes})
        fields["adverse events"].append(bool(got.adverse_events) == bool(want.adverse_events))
    return {f: {"n": len(v), "rate": round(sum(v) / len(v), 3) if v else None} for f, v in fields.items()}
