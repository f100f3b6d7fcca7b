"""Controlled vocabulary and the designed effects of the synthetic clinic."""

from __future__ import annotations

from dataclasses import dataclass

from synth.model import EffectRow, EffectsTable

TREATMENT_IDS: tuple[str, ...] = (
    "prp",
    "hyaluronic_acid",
    "corticosteroid",
    "bmac",
    "physiotherapy",
    "eswt",
    "surgery_referral",
)
INJECTIONS: frozenset[str] = frozenset({"prp", "hyaluronic_acid", "corticosteroid", "bmac"})
TIME_POINTS: tuple[int, ...] = (3, 6, 12)


@dataclass(frozen=True)
class DiagnosisSpec:
    """A diagnosis the clinic treats: codes, names and who gets it."""

    diagnosis_id: str
    icd10: str
    icd10_bilateral: str | None
    es: tuple[str, ...]
    en: tuple[str, ...]
    joint_es: str
    joint_en: str
    weight: float
    age_range: tuple[int, int]
    female_share: float
    graded: bool


DIAGNOSES: tuple[DiagnosisSpec, ...] = (
    DiagnosisSpec(
        "knee_oa",
        "M17.1",
        "M17.0",
        ("gonartrosis", "artrosis de rodilla", "OA rodilla"),
        ("knee osteoarthritis", "knee OA", "OA of the knee"),
        "rodilla",
        "knee",
        0.40,
        (45, 92),
        0.62,
        True,
    ),
    DiagnosisSpec(
        "hip_oa",
        "M16.1",
        "M16.0",
        ("coxartrosis", "artrosis de cadera"),
        ("hip osteoarthritis", "hip OA"),
        "cadera",
        "hip",
        0.12,
        (48, 90),
        0.55,
        True,
    ),
    DiagnosisSpec(
        "lateral_epicondylitis",
        "M77.1",
        None,
        ("epicondilitis lateral", "epicondilitis", "codo de tenista"),
        ("lateral epicondylitis", "tennis elbow", "lateral epicondylalgia"),
        "codo",
        "elbow",
        0.12,
        (28, 66),
        0.5,
        False,
    ),
    DiagnosisSpec(
        "rotator_cuff_tendinopathy",
        "M75.1",
        None,
        ("tendinopatía del manguito rotador", "tendinopatía supraespinoso", "síndrome del manguito rotador"),
        ("rotator cuff tendinopathy", "supraspinatus tendinopathy", "RC tendinopathy"),
        "hombro",
        "shoulder",
        0.12,
        (35, 80),
        0.52,
        False,
    ),
    DiagnosisSpec(
        "plantar_fasciitis",
        "M72.2",
        None,
        ("fascitis plantar", "fasciopatía plantar"),
        ("plantar fasciitis", "plantar fasciopathy"),
        "pie",
        "foot",
        0.10,
        (30, 70),
        0.6,
        False,
    ),
    DiagnosisSpec(
        "patellar_tendinopathy",
        "M76.5",
        None,
        ("tendinopatía rotuliana", "tendinitis rotuliana", "rodilla de saltador"),
        ("patellar tendinopathy", "jumper's knee", "patellar tendinitis"),
        "rodilla",
        "knee",
        0.07,
        (25, 55),
        0.35,
        False,
    ),
    DiagnosisSpec(
        "achilles_tendinopathy",
        "M76.6",
        None,
        ("tendinopatía aquílea", "tendinopatía del Aquiles", "aquilodinia"),
        ("Achilles tendinopathy", "achilles tendinopathy", "Achilles tendinosis"),
        "tobillo",
        "ankle",
        0.07,
        (28, 68),
        0.4,
        False,
    ),
)
DIAGNOSIS_BY_ID: dict[str, DiagnosisSpec] = {d.diagnosis_id: d for d in DIAGNOSES}

# Kellgren-Lawrence grade distribution for the osteoarthritis diagnoses.
KL_WEIGHTS: tuple[tuple[int, float], ...] = ((1, 0.13), (2, 0.35), (3, 0.32), (4, 0.20))

# Designed mean VAS change from baseline at 3, 6 and 12 months (negative = less pain).
_EFFECTS: tuple[tuple[str, str, int | None, int | None, str, tuple[float, float, float]], ...] = (
    ("knee_oa_kl1_3", "knee_oa", 1, 3, "prp", (-2.6, -3.6, -3.7)),
    ("knee_oa_kl1_3", "knee_oa", 1, 3, "hyaluronic_acid", (-1.6, -2.1, -2.0)),
    ("knee_oa_kl1_3", "knee_oa", 1, 3, "corticosteroid", (-3.2, -1.6, -0.5)),
    ("knee_oa_kl1_3", "knee_oa", 1, 3, "physiotherapy", (-1.0, -1.5, -1.5)),
    ("knee_oa_kl1_3", "knee_oa", 1, 3, "bmac", (-2.2, -3.0, -3.1)),
    ("knee_oa_kl4", "knee_oa", 4, 4, "prp", (-0.9, -0.6, -0.3)),
    ("knee_oa_kl4", "knee_oa", 4, 4, "hyaluronic_acid", (-0.6, -0.4, -0.2)),
    ("knee_oa_kl4", "knee_oa", 4, 4, "corticosteroid", (-1.6, -0.6, 0.0)),
    ("knee_oa_kl4", "knee_oa", 4, 4, "physiotherapy", (-0.6, -0.5, -0.3)),
    ("knee_oa_kl4", "knee_oa", 4, 4, "surgery_referral", (-2.0, -4.5, -5.5)),
    ("hip_oa", "hip_oa", 1, 4, "hyaluronic_acid", (-1.2, -1.5, -1.4)),
    ("hip_oa", "hip_oa", 1, 4, "prp", (-1.4, -1.8, -1.6)),
    ("hip_oa", "hip_oa", 1, 4, "corticosteroid", (-2.6, -1.0, -0.3)),
    ("hip_oa", "hip_oa", 1, 4, "physiotherapy", (-0.8, -1.0, -1.0)),
    ("hip_oa", "hip_oa", 1, 4, "surgery_referral", (-2.0, -4.5, -5.5)),
    ("lateral_epicondylitis", "lateral_epicondylitis", None, None, "prp", (-2.0, -3.4, -4.5)),
    ("lateral_epicondylitis", "lateral_epicondylitis", None, None, "corticosteroid", (-3.6, -1.4, 0.4)),
    ("lateral_epicondylitis", "lateral_epicondylitis", None, None, "physiotherapy", (-1.4, -2.0, -2.5)),
    ("lateral_epicondylitis", "lateral_epicondylitis", None, None, "eswt", (-1.5, -2.4, -3.0)),
    ("rotator_cuff_tendinopathy", "rotator_cuff_tendinopathy", None, None, "physiotherapy", (-2.0, -3.0, -3.3)),
    ("rotator_cuff_tendinopathy", "rotator_cuff_tendinopathy", None, None, "prp", (-2.1, -3.1, -3.5)),
    ("rotator_cuff_tendinopathy", "rotator_cuff_tendinopathy", None, None, "corticosteroid", (-3.0, -1.5, -1.0)),
    ("plantar_fasciitis", "plantar_fasciitis", None, None, "eswt", (-2.6, -3.6, -4.0)),
    ("plantar_fasciitis", "plantar_fasciitis", None, None, "prp", (-2.4, -3.5, -4.0)),
    ("plantar_fasciitis", "plantar_fasciitis", None, None, "corticosteroid", (-3.0, -1.6, -0.9)),
    ("plantar_fasciitis", "plantar_fasciitis", None, None, "physiotherapy", (-1.0, -1.6, -2.0)),
    ("patellar_tendinopathy", "patellar_tendinopathy", None, None, "prp", (-2.0, -3.0, -3.5)),
    ("patellar_tendinopathy", "patellar_tendinopathy", None, None, "eswt", (-2.0, -2.9, -3.1)),
    ("patellar_tendinopathy", "patellar_tendinopathy", None, None, "physiotherapy", (-1.5, -2.4, -2.9)),
    ("achilles_tendinopathy", "achilles_tendinopathy", None, None, "eswt", (-2.0, -3.0, -3.4)),
    ("achilles_tendinopathy", "achilles_tendinopathy", None, None, "physiotherapy", (-2.0, -2.6, -3.0)),
    ("achilles_tendinopathy", "achilles_tendinopathy", None, None, "prp", (-1.4, -2.0, -2.4)),
)

# How often the clinic chose each treatment first, per effect group.
FIRST_CHOICE: dict[str, tuple[tuple[str, float], ...]] = {
    "knee_oa_kl1_3": (
        ("prp", 0.34),
        ("hyaluronic_acid", 0.24),
        ("corticosteroid", 0.18),
        ("physiotherapy", 0.14),
        ("bmac", 0.10),
    ),
    "knee_oa_kl4": (
        ("prp", 0.16),
        ("hyaluronic_acid", 0.16),
        ("corticosteroid", 0.22),
        ("physiotherapy", 0.10),
        ("surgery_referral", 0.36),
    ),
    "hip_oa": (
        ("hyaluronic_acid", 0.30),
        ("prp", 0.30),
        ("corticosteroid", 0.20),
        ("physiotherapy", 0.10),
        ("surgery_referral", 0.10),
    ),
    "lateral_epicondylitis": (("prp", 0.35), ("corticosteroid", 0.30), ("physiotherapy", 0.20), ("eswt", 0.15)),
    "rotator_cuff_tendinopathy": (("physiotherapy", 0.40), ("prp", 0.35), ("corticosteroid", 0.25)),
    "plantar_fasciitis": (("eswt", 0.35), ("prp", 0.30), ("corticosteroid", 0.20), ("physiotherapy", 0.15)),
    "patellar_tendinopathy": (("prp", 0.35), ("eswt", 0.30), ("physiotherapy", 0.35)),
    "achilles_tendinopathy": (("eswt", 0.35), ("physiotherapy", 0.40), ("prp", 0.25)),
}

# Probability of each adverse event per treatment (canonical ids).
ADVERSE_EVENT_RATES: dict[str, tuple[tuple[str, float], ...]] = {
    "prp": (("post_injection_flare", 0.14), ("effusion", 0.04)),
    "hyaluronic_acid": (("post_injection_flare", 0.06), ("effusion", 0.06)),
    "corticosteroid": (("post_injection_flare", 0.04),),
    "bmac": (("post_injection_flare", 0.18), ("effusion", 0.06)),
    "eswt": (("post_injection_flare", 0.06),),
    "physiotherapy": (),
    "surgery_referral": (),
}

# The clinic's own spellings in the structured tables (not canonical ids).
TABLE_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "prp": {
        "es": ("PRP", "Plasma rico en plaquetas", "PRP IA", "Infiltración PRP"),
        "en": ("PRP", "Platelet-rich plasma", "PRP injection"),
    },
    "hyaluronic_acid": {
        "es": ("Ác. hialurónico", "Acido hialuronico", "AH IA", "Ácido hialurónico"),
        "en": ("Hyaluronic acid", "HA injection", "Viscosupplementation"),
    },
    "corticosteroid": {
        "es": ("Infiltración corticoide", "Corticoide IA", "Triamcinolona", "Betametasona"),
        "en": ("Corticosteroid injection", "Steroid inj.", "Triamcinolone"),
    },
    "bmac": {
        "es": ("BMAC", "Células madre (BMAC)", "Concentrado médula ósea"),
        "en": ("BMAC", "Bone marrow concentrate", "Stem cell injection"),
    },
    "physiotherapy": {"es": ("Fisioterapia", "Fisio", "RHB"), "en": ("Physiotherapy", "Physio", "PT")},
    "eswt": {"es": ("Ondas de choque", "ESWT", "OCH"), "en": ("Shockwave", "ESWT", "Shock wave therapy")},
    "surgery_referral": {
        "es": ("Derivación a cirugía", "Derivación COT", "Deriv. Traumatología"),
        "en": ("Referral to surgery", "Surgical referral", "Ortho referral"),
    },
}

AGE_THRESHOLD = 70
AGE_FACTOR = 0.8
VAS_NOISE_SD = 0.9
WOMAC_PER_VAS_POINT = 6.5
KOOS_PER_VAS_POINT = 8.0


def effects_table() -> EffectsTable:
    """Return the designed effects as a ground-truth model."""
    rows = [
        EffectRow(
            group=g,
            diagnosis_id=d,
            severity_min=lo,
            severity_max=hi,
            treatment_id=t,
            vas_change=dict(zip(TIME_POINTS, change, strict=True)),
        )
        for g, d, lo, hi, t, change in _EFFECTS
    ]
    return EffectsTable(
        rows=rows,
        age_threshold=AGE_THRESHOLD,
        age_factor=AGE_FACTOR,
        vas_noise_sd=VAS_NOISE_SD,
        womac_per_vas_point=WOMAC_PER_VAS_POINT,
        koos_per_vas_point=KOOS_PER_VAS_POINT,
    )


def effect_group(diagnosis_id: str, severity: int | None) -> str:
    """Return the effects-table group for a diagnosis and Kellgren-Lawrence grade."""
    if diagnosis_id == "knee_oa":
        return "knee_oa_kl4" if severity == 4 else "knee_oa_kl1_3"
    return diagnosis_id


def vocabulary() -> dict[str, list[str]]:
    """Return treatment id -> every clinic spelling, Spanish first."""
    return {t: list(dict.fromkeys(TABLE_LABELS[t]["es"] + TABLE_LABELS[t]["en"])) for t in TREATMENT_IDS}
