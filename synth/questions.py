"""Evaluation questions with answers fixed by the effects table."""

from __future__ import annotations

from dataclasses import dataclass

from synth.model import EffectsTable, Language, Patient, Question, QuestionProfile, Sex

BETTER_MARGIN = 0.75  # within this many VAS points of the best designed change -> "better"
WORSE_MARGIN = 1.2  # at least this many VAS points short of the best -> "worse"
AGE_WINDOW = 12


@dataclass(frozen=True)
class _Spec:
    language: Language
    text: str
    diagnosis_id: str
    group: str
    age: int
    sex: Sex | None
    side: str | None
    severity: int | None
    baseline_vas: float | None
    months: int
    candidates: tuple[str, ...] | None = None


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "es",
        "Paciente de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 7. ¿Qué tratamientos funcionaron en "
        "pacientes similares a los 12 meses?",
        "knee_oa",
        "knee_oa_kl1_3",
        58,
        "F",
        "left",
        2,
        7.0,
        12,
    ),
    _Spec(
        "es",
        "Mujer de 78 años, gonartrosis KL4 bilateral, EVA 8,5. ¿Qué opciones dieron mejor resultado al año en casos "
        "parecidos?",
        "knee_oa",
        "knee_oa_kl4",
        78,
        "F",
        "bilateral",
        4,
        8.5,
        12,
    ),
    _Spec(
        "es",
        "Varón de 45 años con epicondilitis lateral derecha de 6 meses, EVA 7. ¿Qué tratamiento dio mejores "
        "resultados a los 12 meses?",
        "lateral_epicondylitis",
        "lateral_epicondylitis",
        45,
        "M",
        "right",
        None,
        7.0,
        12,
    ),
    _Spec(
        "es",
        "Mujer de 52 años con fascitis plantar izquierda, EVA 7,5. ¿Qué funcionó en pacientes similares a largo plazo?",
        "plantar_fasciitis",
        "plantar_fasciitis",
        52,
        "F",
        "left",
        None,
        7.5,
        12,
    ),
    _Spec(
        "es",
        "Coxartrosis derecha grado III en mujer de 68 años, EVA 7. ¿Qué infiltración funcionó mejor al año?",
        "hip_oa",
        "hip_oa",
        68,
        "F",
        "right",
        3,
        7.0,
        12,
        ("prp", "hyaluronic_acid", "corticosteroid"),
    ),
    _Spec(
        "es",
        "Varón de 74 años, artrosis de rodilla derecha KL3, EVA 8. ¿Qué tratamiento mantenía mejoría a los 6 meses?",
        "knee_oa",
        "knee_oa_kl1_3",
        74,
        "M",
        "right",
        3,
        8.0,
        6,
    ),
    _Spec(
        "en",
        "66-year-old man with right knee osteoarthritis, Kellgren-Lawrence grade 3, VAS 8. What worked for similar "
        "patients at 12 months?",
        "knee_oa",
        "knee_oa_kl1_3",
        66,
        "M",
        "right",
        3,
        8.0,
        12,
    ),
    _Spec(
        "en",
        "61 y/o woman, left knee OA KL2, VAS 7. Which treatment gave the quickest relief (3 months) in similar cases?",
        "knee_oa",
        "knee_oa_kl1_3",
        61,
        "F",
        "left",
        2,
        7.0,
        3,
    ),
    _Spec(
        "en",
        "39-year-old woman with lateral epicondylitis (tennis elbow), VAS 6.5. What gave the best short-term relief "
        "at 3 months?",
        "lateral_epicondylitis",
        "lateral_epicondylitis",
        39,
        "F",
        None,
        None,
        6.5,
        3,
    ),
    _Spec(
        "en",
        "55-year-old man with right rotator cuff tendinopathy, VAS 7. What worked best at 12 months for patients "
        "like him?",
        "rotator_cuff_tendinopathy",
        "rotator_cuff_tendinopathy",
        55,
        "M",
        "right",
        None,
        7.0,
        12,
    ),
    _Spec(
        "en",
        "50 y/o male, tennis elbow for 8 months, VAS 7. Which treatment had the best outcome at one year?",
        "lateral_epicondylitis",
        "lateral_epicondylitis",
        50,
        "M",
        None,
        None,
        7.0,
        12,
    ),
    _Spec(
        "en",
        "81-year-old man with end-stage (KL4) left knee osteoarthritis, VAS 8. What helped similar patients at "
        "12 months?",
        "knee_oa",
        "knee_oa_kl4",
        81,
        "M",
        "left",
        4,
        8.0,
        12,
    ),
)


def _ranked(effects: EffectsTable, spec: _Spec) -> tuple[list[str], list[str]]:
    changes = {
        r.treatment_id: r.vas_change[spec.months]
        for r in effects.rows
        if r.group == spec.group and (spec.candidates is None or r.treatment_id in spec.candidates)
    }
    best = min(changes.values())
    better = sorted((t for t, c in changes.items() if c <= best + BETTER_MARGIN), key=lambda t: (changes[t], t))
    worse = sorted((t for t, c in changes.items() if c >= best + WORSE_MARGIN), key=lambda t: (changes[t], t))
    return better, worse


def build_questions(effects: EffectsTable, patients: list[Patient]) -> list[Question]:
    """Return the evaluation questions, each with designed better/worse treatments and the matching patients."""
    questions: list[Question] = []
    for n, spec in enumerate(_SPECS, start=1):
        row = next(r for r in effects.rows if r.group == spec.group)
        profile = QuestionProfile(
            diagnosis_id=spec.diagnosis_id,
            effect_group=spec.group,
            age=spec.age,
            sex=spec.sex,
            side=spec.side,  # type: ignore[arg-type]
            severity=spec.severity,
            baseline_vas=spec.baseline_vas,
            match_severity_min=row.severity_min,
            match_severity_max=row.severity_max,
            match_age_min=spec.age - AGE_WINDOW,
            match_age_max=spec.age + AGE_WINDOW,
        )
        matching = [p for p in patients if matches(profile, p)]
        better, worse = _ranked(effects, spec)
        questions.append(
            Question(
                question_id=f"Q{n:02d}",
                language=spec.language,
                text=spec.text,
                profile=profile,
                time_point_months=spec.months,
                expected_better=better,
                expected_worse=worse,
                matching_patient_ids=[p.patient_id for p in matching],
                matching_nhcs=[p.nhc for p in matching],
            )
        )
    return questions


def matches(profile: QuestionProfile, patient: Patient) -> bool:
    """True when ``patient`` is 'similar' to the profile: same diagnosis, severity band and age window."""
    d = patient.diagnosis
    if d.diagnosis_id != profile.diagnosis_id or d.effect_group != profile.effect_group:
        return False
    if profile.match_severity_min is not None and (d.severity is None or d.severity < profile.match_severity_min):
        return False
    if profile.match_severity_max is not None and (d.severity is None or d.severity > profile.match_severity_max):
        return False
    return profile.match_age_min <= patient.age <= profile.match_age_max
