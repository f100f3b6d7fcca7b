"""Draw the clinic's patients: who they are, what they had, what was done and how it turned out."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from synth.model import Language, Sex
from synth.people import Identity, make_identity
from synth.vocab import (
    ADVERSE_EVENT_RATES,
    AGE_FACTOR,
    AGE_THRESHOLD,
    DIAGNOSES,
    FIRST_CHOICE,
    KL_WEIGHTS,
    KOOS_PER_VAS_POINT,
    TIME_POINTS,
    VAS_NOISE_SD,
    WOMAC_PER_VAS_POINT,
    DiagnosisSpec,
    effect_group,
    effects_table,
)

FIRST_VISIT_START = date(2019, 1, 7)
FIRST_VISIT_DAYS = 5 * 365


@dataclass
class TreatmentPlan:
    """One treatment episode with its drawn outcomes (None where the patient was not seen)."""

    treatment_id: str
    date: date
    dose: str | None
    dose_value: float | None
    dose_unit: str | None
    product: str | None
    sessions: int | None
    interval_weeks: int | None
    vas: dict[int, float | None]
    womac: dict[int, float | None]
    koos: dict[int, float | None]
    adverse_events: list[str]
    energy: float | None = None
    pulses: int | None = None

    def last_vas_month(self) -> int:
        """Return the last time point with a VAS value (0 if only baseline)."""
        return max(m for m, v in self.vas.items() if v is not None)


@dataclass
class PatientPlan:
    """Everything drawn for one patient before any document is written."""

    index: int
    patient_id: str
    nhc: str
    sex: Sex
    age: int
    birth_date: date
    first_visit: date
    language: Language
    spec: DiagnosisSpec
    icd10: str
    side: str
    severity: int | None
    group: str
    identity: Identity
    treatments: list[TreatmentPlan]
    symptom_months: int
    comorbidities: list[str]
    allergy: str | None
    followups: list[tuple[int, int]] = field(default_factory=list)
    has_report: bool = False
    has_letter: bool = False
    table: str | None = None
    rng_seed: str = ""


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...] | list[tuple[str, float]]) -> str:
    names = [o[0] for o in options]
    weights = [o[1] for o in options]
    return rng.choices(names, weights=weights, k=1)[0]


def _half(x: float, lo: float = 0.0, hi: float = 10.0) -> float:
    """Clamp to [lo, hi] and round to the nearest 0.5, the way clinicians record VAS."""
    return min(hi, max(lo, round(x * 2) / 2))


def _months_later(d: date, months: int, rng: random.Random) -> date:
    return d + timedelta(days=round(months * 30.44) + rng.randint(-9, 12))


def _dose(
    rng: random.Random, treatment_id: str, spec: DiagnosisSpec
) -> tuple[str | None, float | None, str | None, str | None, int | None, int | None, float | None, int | None]:
    """Return (dose text, value, unit, product, sessions, interval weeks, energy, pulses)."""
    big_joint = spec.diagnosis_id in ("knee_oa", "hip_oa")
    if treatment_id == "prp":
        ml = rng.choice((4.0, 5.0, 6.0)) if big_joint else rng.choice((2.0, 3.0, 3.5, 4.0))
        product = rng.choice(("LP-PRP", "LR-PRP", "LP-PRP", None))
        sessions = rng.choices((1, 2, 3), weights=(0.3, 0.3, 0.4))[0]
        return (
            f"{ml:g} ml",
            ml,
            "ml",
            product,
            sessions,
            (rng.choice((1, 2, 2, 4)) if sessions > 1 else None),
            None,
            None,
        )
    if treatment_id == "hyaluronic_acid":
        product, sessions, ml, conc = rng.choice(
            (
                ("hialuronato sódico 20 mg/ml", 3, 2.0, 20),
                ("hialuronato sódico 20 mg/ml", 1, 3.0, 20),
                ("hylan G-F 20", 1, 6.0, 8),
                ("hialuronato sódico 15 mg/ml", 3, 2.0, 15),
            )
        )
        return f"{ml:g} ml {conc} mg/ml", ml, "ml", product, sessions, (1 if sessions > 1 else None), None, None
    if treatment_id == "corticosteroid":
        product, mg = rng.choice(
            (
                ("triamcinolone", 40.0),
                ("triamcinolone", 20.0) if not big_joint else ("triamcinolone", 40.0),
                ("betamethasone", 6.0),
                ("methylprednisolone", 40.0),
            )
        )
        return f"{mg:g} mg", mg, "mg", product, 1, None, None, None
    if treatment_id == "bmac":
        ml = rng.choice((3.0, 4.0, 5.0))
        return f"{ml:g} ml", ml, "ml", "BMAC", 1, None, None, None
    if treatment_id == "physiotherapy":
        sessions = rng.choice((8, 10, 10, 12, 15, 20))
        product = "eccentric loading" if not big_joint and rng.random() < 0.5 else None
        return None, None, None, product, sessions, None, None, None
    if treatment_id == "eswt":
        pulses = rng.choice((1500, 2000, 2000, 2500))
        energy = rng.choice((0.10, 0.12, 0.15, 0.18, 0.2))
        product = rng.choice(("radial", "focal"))
        return (
            f"{pulses} impulses {energy:g} mJ/mm2",
            energy,
            "mJ/mm2",
            product,
            rng.choice((3, 3, 4, 5)),
            1,
            energy,
            pulses,
        )
    return None, None, None, ("TKA" if spec.diagnosis_id == "knee_oa" else "THA"), None, None, None, None


def draw_treatment(
    rng: random.Random,
    treatment_id: str,
    spec: DiagnosisSpec,
    group: str,
    age: int,
    start: date,
    baseline_vas: float,
    responsiveness: float,
    with_koos: bool,
    baseline_womac: float | None = None,
) -> TreatmentPlan:
    """Draw one treatment episode's outcomes from the effects table plus seeded noise."""
    table = effects_table()
    factor = AGE_FACTOR if age >= AGE_THRESHOLD else 1.0
    vas: dict[int, float | None] = {0: baseline_vas}
    for months in TIME_POINTS:
        change = table.change(group, treatment_id, months) or 0.0
        vas[months] = _half(baseline_vas + change * factor + responsiveness + rng.gauss(0.0, VAS_NOISE_SD * 0.75))
    # Loss to follow-up: later visits are missed more often.
    if rng.random() < 0.10:
        vas[12] = None
        if rng.random() < 0.4:
            vas[6] = None
    womac: dict[int, float | None] = {}
    koos: dict[int, float | None] = {}
    if spec.diagnosis_id in ("knee_oa", "hip_oa"):
        w0 = baseline_womac if baseline_womac is not None else baseline_vas * WOMAC_PER_VAS_POINT + rng.gauss(8, 6)
        w0 = float(min(96, max(0, round(w0))))
        womac[0] = w0
        v12 = vas[12]
        womac[12] = (
            float(min(96, max(0, round(w0 + (v12 - baseline_vas) * WOMAC_PER_VAS_POINT + rng.gauss(0, 4)))))
            if v12 is not None
            else None
        )
        if with_koos:
            k0 = float(min(100, max(0, round(100 - baseline_vas * KOOS_PER_VAS_POINT + rng.gauss(5, 5)))))
            koos[0] = k0
            koos[12] = (
                float(min(100, max(0, round(k0 - (v12 - baseline_vas) * KOOS_PER_VAS_POINT + rng.gauss(0, 4)))))
                if v12 is not None
                else None
            )
    dose, value, unit, product, sessions, interval, energy, pulses = _dose(rng, treatment_id, spec)
    events = [event for event, p in ADVERSE_EVENT_RATES[treatment_id] if rng.random() < p][:1]
    if not spec.graded:
        # Only a joint (knee, hip) can fill with fluid; tendons get the flare alone.
        events = [e for e in events if e != "effusion"]
    return TreatmentPlan(
        treatment_id=treatment_id,
        date=start,
        dose=dose,
        dose_value=value,
        dose_unit=unit,
        product=product,
        sessions=sessions,
        interval_weeks=interval,
        vas=vas,
        womac=womac,
        koos=koos,
        adverse_events=events,
        energy=energy,
        pulses=pulses,
    )


def _age(rng: random.Random, spec: DiagnosisSpec) -> int:
    if spec.age_range[1] >= 90 and rng.random() < 0.06:
        return rng.randint(90, 92)
    lo, hi = spec.age_range
    return max(25, min(89, round(rng.triangular(lo, min(hi, 89), (lo + hi) / 2 + 4))))


def draw_patient(seed: int, index: int, nhc: str) -> PatientPlan:
    """Draw one patient's clinical story from a random stream private to (seed, index)."""
    rng_seed = f"casewise-synth/{seed}/{index}"
    rng = random.Random(rng_seed)
    spec = _weighted_spec(rng)
    sex: Sex = "F" if rng.random() < spec.female_share else "M"
    language: Language = "es" if rng.random() < 0.65 else "en"
    age = _age(rng, spec)
    first_visit = FIRST_VISIT_START + timedelta(days=rng.randint(0, FIRST_VISIT_DAYS))
    anchor = date(first_visit.year - age - 1, first_visit.month, min(first_visit.day, 28))
    birth_date = anchor + timedelta(days=rng.randint(1, 364))
    while _years(birth_date, first_visit) > age:
        birth_date += timedelta(days=3)
    while _years(birth_date, first_visit) < age:
        birth_date -= timedelta(days=3)
    severity = _weighted_int(rng, KL_WEIGHTS) if spec.graded else None
    if severity is not None and age < 55 and severity == 4:
        severity = 3
    group = effect_group(spec.diagnosis_id, severity)
    bilateral = spec.icd10_bilateral is not None and rng.random() < 0.08
    side = "bilateral" if bilateral else rng.choice(("left", "right"))
    icd10 = spec.icd10_bilateral if bilateral and spec.icd10_bilateral else spec.icd10
    identity = make_identity(rng, sex, language)
    baseline = _half(rng.gauss(6.9 if spec.graded else 6.5, 1.1), 3.5, 9.5)
    responsiveness = rng.gauss(0.0, VAS_NOISE_SD * 0.5)
    with_koos = spec.diagnosis_id == "knee_oa" and rng.random() < 0.4
    first_id = _weighted(rng, FIRST_CHOICE[group])
    start = first_visit + timedelta(days=rng.choice((0, 0, 7, 14, 21)))
    first = draw_treatment(rng, first_id, spec, group, age, start, baseline, responsiveness, with_koos)
    treatments = [first]
    v6 = first.vas[6]
    if first_id != "surgery_referral" and v6 is not None and v6 >= 5.5 and v6 - baseline > -2.0 and rng.random() < 0.7:
        options = [(t, w) for t, w in FIRST_CHOICE[group] if t != first_id]
        if severity == 4:
            options = [(t, w * (4.0 if t == "surgery_referral" else 1.0)) for t, w in options]
        second_id = _weighted(rng, options)
        first.vas[12] = None
        if first.womac:
            first.womac[12] = None
        if first.koos:
            first.koos[12] = None
        second_start = _months_later(first.date, 6, rng) + timedelta(days=rng.randint(3, 20))
        treatments.append(
            draw_treatment(
                rng, second_id, spec, group, age, second_start, v6, responsiveness, with_koos, baseline_womac=None
            )
        )
    plan = PatientPlan(
        index=index,
        patient_id=f"P{index + 1:04d}",
        nhc=nhc,
        sex=sex,
        age=age,
        birth_date=birth_date,
        first_visit=first_visit,
        language=language,
        spec=spec,
        icd10=icd10,
        side=side,
        severity=severity,
        group=group,
        identity=identity,
        treatments=treatments,
        symptom_months=rng.choice((2, 3, 4, 6, 8, 12, 18, 24, 36)),
        comorbidities=rng.sample(
            ("hta", "dm2", "dyslipidaemia", "hypothyroidism", "obesity", "gout", "af"),
            k=rng.choices((0, 1, 2, 3), weights=(0.35, 0.35, 0.2, 0.1))[0],
        ),
        allergy=rng.choice((None, None, None, None, "penicillin", "nsaids", "iodine")),
        rng_seed=rng_seed,
    )
    _plan_documents(rng, plan)
    return plan


def _plan_documents(rng: random.Random, plan: PatientPlan) -> None:
    """Decide which follow-up notes, report, letter and table row the patient gets."""
    for t_index, treatment in enumerate(plan.treatments):
        last = treatment.last_vas_month()
        if last == 0:
            continue
        if t_index == 0 and len(plan.treatments) > 1:
            plan.followups.append((0, 6 if treatment.vas[6] is not None else 3))
        elif rng.random() < (0.6 if t_index == 0 else 0.5):
            month = last if rng.random() < 0.7 else rng.choice([m for m in TIME_POINTS if m <= last])
            plan.followups.append((t_index, month))
    plan.has_report = rng.random() < 0.30
    plan.has_letter = rng.random() < 0.22 or any(t.treatment_id == "surgery_referral" for t in plan.treatments)
    r = rng.random()
    if plan.language == "es":
        plan.table = "csv" if r < 0.6 else ("xlsx" if r < 0.8 else None)
    else:
        plan.table = "xlsx" if r < 0.6 else ("csv" if r < 0.8 else None)


def _weighted_spec(rng: random.Random) -> DiagnosisSpec:
    return rng.choices(DIAGNOSES, weights=[d.weight for d in DIAGNOSES], k=1)[0]


def _weighted_int(rng: random.Random, options: tuple[tuple[int, float], ...]) -> int:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options], k=1)[0]


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def draw_nhcs(seed: int, count: int) -> list[str]:
    """Return ``count`` distinct clinic record numbers (6-8 digits, zero-padded as the clinic prints them)."""
    rng = random.Random(f"casewise-synth/{seed}/nhc")
    seen: set[int] = set()
    out: list[str] = []
    while len(out) < count:
        kind = rng.random()
        if kind < 0.2:
            number, text_len = rng.randint(100_000, 999_999), 6
        elif kind < 0.85:
            number, text_len = rng.randint(1_000, 999_999), 7
        else:
            number, text_len = rng.randint(10_000_000, 12_999_999), 8
        text = f"{number:0{text_len}d}"
        # No record number inside another, so a search for one never finds a different patient's.
        if number in seen or any(text in other or other in text for other in out):
            continue
        seen.add(number)
        out.append(text)
    return out
