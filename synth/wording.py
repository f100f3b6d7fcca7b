"""Shared wording: dates, numbers, sides, treatment and diagnosis phrases, and clinicians' typos."""

from __future__ import annotations

import random
import re
from datetime import date

from synth.cohort import PatientPlan, TreatmentPlan
from synth.model import Language

MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

DATE_STYLES_ES = ("long", "dmy", "dmy", "iso", "dmy_short")
DATE_STYLES_EN = ("long", "iso", "dmy", "abbr")


def fmt_date(d: date, language: Language, style: str) -> str:
    """Format a date the way the clinic's documents do ('3 de marzo de 2021', '03/03/2021', 'March 3, 2021'...)."""
    if style == "iso":
        return d.isoformat()
    if style == "dmy":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == "dmy_short":
        return f"{d.day}/{d.month}/{d.year % 100:02d}"
    if style == "abbr":
        return f"{d.day} {MONTHS_EN[d.month - 1][:3]} {d.year}"
    if language == "es":
        return f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}"
    return f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}"


def pick_date_style(rng: random.Random, language: Language) -> str:
    """Pick one of the date formats used in ``language`` documents."""
    return rng.choice(DATE_STYLES_ES if language == "es" else DATE_STYLES_EN)


def num(value: float, language: Language) -> str:
    """Format a score: integers without decimals, Spanish with a decimal comma."""
    text = f"{value:g}" if value != int(value) else f"{int(value)}"
    return text.replace(".", ",") if language == "es" else text


def side_word(side: str, language: Language, rng: random.Random, short: bool = False) -> str:
    """Return a way of writing the side ('izq', 'derecha', 'L', 'bilateral'...)."""
    if side == "bilateral":
        return rng.choice(("bilateral", "ambas", "bilat.")) if language == "es" else rng.choice(("bilateral", "both"))
    options: tuple[str, ...]
    if language == "es":
        options = {"left": ("izquierda", "izq", "izqda", "izq."), "right": ("derecha", "dcha", "dcha.", "drcha")}[side]
    else:
        options = {"left": ("left", "L", "lt"), "right": ("right", "R", "rt")}[side]
    return options[1] if short else rng.choice(options)


def side_adj(side: str, language: Language, rng: random.Random, masculine: bool = False) -> str:
    """Return the side as an adjective agreeing with the joint ('derecho' for 'codo')."""
    word = side_word(side, language, rng)
    if language == "es" and masculine:
        word = {
            "izquierda": "izquierdo",
            "izqda": "izqdo",
            "derecha": "derecho",
            "dcha": "dcho",
            "dcha.": "dcho.",
            "drcha": "drcho",
            "ambas": "ambos",
        }.get(word, word)
    return word


JOINT_MASCULINE = {"codo", "hombro", "pie", "tobillo"}

TREATMENT_TEXT: dict[str, dict[Language, tuple[str, ...]]] = {
    "prp": {
        "es": (
            "PRP",
            "plasma rico en plaquetas",
            "PRP",
            "plasma rico en plaquetas (PRP)",
            "factores de crecimiento (PRP)",
        ),
        "en": ("PRP", "platelet-rich plasma", "PRP", "platelet rich plasma (PRP)"),
    },
    "hyaluronic_acid": {
        "es": ("ácido hialurónico", "AH", "hialurónico", "viscosuplementación con ácido hialurónico"),
        "en": ("hyaluronic acid", "HA", "viscosupplementation (HA)", "hyaluronan"),
    },
    "corticosteroid": {
        "es": ("corticoide", "corticoides", "infiltración corticoidea"),
        "en": ("corticosteroid", "steroid", "CSI"),
    },
    "bmac": {
        "es": ("BMAC", "células madre (BMAC)", "concentrado de aspirado de médula ósea", "terapia celular (BMAC)"),
        "en": ("BMAC", "stem cells (BMAC)", "bone marrow aspirate concentrate", "stem cells"),
    },
    "physiotherapy": {
        "es": ("fisioterapia", "fisio", "RHB", "rehabilitación"),
        "en": ("physiotherapy", "physio", "PT", "physical therapy"),
    },
    "eswt": {
        "es": ("ondas de choque", "OCH", "ESWT", "terapia por ondas de choque"),
        "en": ("shockwave therapy", "ESWT", "shock wave", "extracorporeal shockwave therapy"),
    },
    "surgery_referral": {
        "es": ("derivación a COT", "derivación a cirugía", "valoración quirúrgica"),
        "en": ("referral to orthopaedic surgery", "surgical referral", "ortho surgery referral"),
    },
}

PRODUCT_ES = {
    "triamcinolone": "triamcinolona",
    "betamethasone": "betametasona",
    "methylprednisolone": "metilprednisolona",
    "eccentric loading": "ejercicios excéntricos",
    "TKA": "PTR",
    "THA": "PTC",
}


def treatment_name(treatment_id: str, language: Language, rng: random.Random) -> str:
    """Return one of the ways clinicians name a treatment in free text."""
    return rng.choice(TREATMENT_TEXT[treatment_id][language])


def dose_phrase(t: TreatmentPlan, language: Language, rng: random.Random) -> str:
    """Describe dose and sessions in free text ('3 infiltraciones c/ 2 sem, 5 ml')."""
    es = language == "es"
    parts: list[str] = []
    tid = t.treatment_id
    if tid in ("prp", "bmac", "hyaluronic_acid", "corticosteroid"):
        if tid == "corticosteroid" and t.product:
            prod = PRODUCT_ES.get(t.product, t.product) if es else t.product
            parts.append(f"{prod} {num(t.dose_value or 0, language)} mg")
        elif tid == "hyaluronic_acid" and t.dose:
            ml, _, conc = t.dose.split(" ", 2)[0], None, t.dose.split(" ", 2)[2]
            parts.append(f"{num(float(ml), language)} ml ({conc})")
        elif t.dose_value:
            parts.append(
                f"{num(t.dose_value, language)} ml" if rng.random() < 0.7 else f"{num(t.dose_value, language)}ml"
            )
        if t.sessions and t.sessions > 1:
            if es:
                word = rng.choice(("infiltraciones", "inyecciones", "dosis", "inf."))
                every = rng.choice(
                    (
                        f"c/ {t.interval_weeks} sem",
                        f"cada {t.interval_weeks} semanas",
                        f"separadas {t.interval_weeks} sem",
                    )
                )
            else:
                word = rng.choice(("injections", "injections", "shots", "inj"))
                every = rng.choice(
                    (f"q{t.interval_weeks}w", f"every {t.interval_weeks} weeks", f"{t.interval_weeks} wk apart")
                )
            parts.insert(0, f"{t.sessions} {word} {every}")
        elif t.sessions == 1:
            parts.insert(
                0,
                rng.choice(("dosis única", "1 infiltración", "única infiltración"))
                if es
                else rng.choice(("single injection", "1 injection", "one-off injection")),
            )
    elif tid == "physiotherapy":
        parts.append(
            f"{t.sessions} {rng.choice(('sesiones', 'ses.', 'sesiones'))}"
            if es
            else f"{t.sessions} {rng.choice(('sessions', 'visits', 'sessions'))}"
        )
        if t.product:
            parts.append(PRODUCT_ES[t.product] if es else t.product)
    elif tid == "eswt":
        energy = num(t.energy or 0, language)
        if es:
            parts.append(f"{t.sessions} sesiones, {t.pulses} impulsos a {energy} mJ/mm²")
            parts.append("radiales" if t.product == "radial" else "focales")
        else:
            parts.append(f"{t.sessions} sessions, {t.pulses} pulses at {energy} mJ/mm²")
            parts.append(t.product or "")
    elif tid == "surgery_referral" and t.product:
        parts.append(f"para valorar {PRODUCT_ES[t.product]}" if es else f"for {t.product} assessment")
    return ", ".join(p for p in parts if p)


def diagnosis_text(plan: PatientPlan, rng: random.Random) -> str:
    """Name the diagnosis (Spanish or English synonym)."""
    return rng.choice(plan.spec.es if plan.language == "es" else plan.spec.en)


def kl_text(grade: int, language: Language, rng: random.Random) -> str:
    """Write a Kellgren-Lawrence grade in one of its usual forms."""
    roman = ("I", "II", "III", "IV")[grade - 1]
    if language == "es":
        return rng.choice(
            (
                f"KL {grade}",
                f"grado {grade} de Kellgren-Lawrence",
                f"KL grado {roman}",
                f"grado {roman} KL",
                f"Kellgren {grade}",
            )
        )
    return rng.choice((f"KL {grade}", f"Kellgren-Lawrence grade {grade}", f"KL grade {roman}", f"K-L {grade}"))


TYPOS: dict[str, tuple[str, ...]] = {
    "rodilla": ("rodila", "rodiila"),
    "paciente": ("pacinete", "paceinte"),
    "tratamiento": ("tratamieto", "tto"),
    "infiltración": ("infiltracion", "infliltración"),
    "mejoría": ("mejoria", "mejroía"),
    "dolor": ("dolr", "doolor"),
    "exploración": ("exploracion",),
    "evolución": ("evolucion", "evoluion"),
    "también": ("tambien",),
    "sesiones": ("sesions", "sesioens"),
    "refiere": ("refire", "reifere"),
    "después": ("despues",),
    "articulación": ("articulacion",),
    "revisión": ("revision",),
    "clínica": ("clinica",),
    "días": ("dias",),
    "knee": ("kne", "kneee"),
    "patient": ("pateint", "patinet"),
    "treatment": ("treatmnet", "tx"),
    "received": ("recieved",),
    "injection": ("injecton", "inejction"),
    "improvement": ("improvment", "imporvement"),
    "physiotherapy": ("physiotherpy", "phsyiotherapy"),
    "reports": ("repots",),
    "significant": ("signficant",),
    "shoulder": ("shouler",),
    "follow": ("folow",),
    "weeks": ("wks",),
}
_TYPO_RE = re.compile(r"\b(" + "|".join(sorted(TYPOS, key=len, reverse=True)) + r")\b")


def add_typos(text: str, rng: random.Random, rate: float) -> str:
    """Replace some common words with the misspellings clinicians type in a hurry."""

    def repl(m: re.Match[str]) -> str:
        return rng.choice(TYPOS[m.group(1)]) if rng.random() < rate else m.group(1)

    return _TYPO_RE.sub(repl, text)
