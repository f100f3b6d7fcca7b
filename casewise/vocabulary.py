"""The controlled vocabulary of diagnoses, treatments and outcome measures, with Spanish and English synonyms.

Matching is on accent-folded lower-case text. A clinic extends it by adding synonyms here (or in a later
configurable file); every stage maps free text and table labels to these canonical ids.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


def fold(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in nfkd if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Term:
    id: str
    label_es: str
    label_en: str
    synonyms: tuple[str, ...]
    icd10: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


DIAGNOSES: tuple[Term, ...] = (
    Term("knee_oa", "artrosis de rodilla", "knee osteoarthritis",
         ("gonartrosis", "artrosis de rodilla", "artrosis rodilla", "oa rodilla", "artrosis en rodilla", "oa knee", "osteoartritis de rodilla", "oa de rodilla",
          "knee oa", "knee osteoarthritis", "osteoarthritis of the knee", "oa knee", "gonarthrosis",
          "artrosis femorotibial", "artrosis tricompartimental", "tricompartmental oa"), "M17"),
    Term("hip_oa", "artrosis de cadera", "hip osteoarthritis",
         ("coxartrosis", "artrosis de cadera", "artrosis cadera", "oa cadera", "oa de cadera", "artrosis en cadera", "hip oa", "hip osteoarthritis",
          "osteoarthritis of the hip", "coxarthrosis"), "M16"),
    Term("lateral_epicondylitis", "epicondilitis lateral", "lateral epicondylitis",
         ("epicondilitis", "epicondilalgia", "codo de tenista", "tennis elbow", "lateral epicondylitis",
          "lateral epicondylalgia", "epicondylitis"), "M77.1"),
    Term("rotator_cuff_tendinopathy", "tendinopatía del manguito rotador", "rotator cuff tendinopathy",
         ("manguito rotador", "manguito de los rotadores", "tendinopatia del supraespinoso", "supraespinoso",
          "rotator cuff", "supraspinatus tendinopathy", "supraspinatus", "tendinitis del hombro",
          "shoulder impingement", "pinzamiento subacromial"), "M75.1"),
    Term("plantar_fasciitis", "fascitis plantar", "plantar fasciitis",
         ("fascitis plantar", "fasciopatia plantar", "plantar fasciitis", "plantar fasciopathy", "espolon calcaneo",
          "heel spur", "talalgia plantar"), "M72.2"),
    Term("patellar_tendinopathy", "tendinopatía rotuliana", "patellar tendinopathy",
         ("tendinopatia rotuliana", "tendinitis rotuliana", "tendinopatia patelar", "rodilla del saltador",
          "patellar tendinopathy", "patellar tendinitis", "jumper's knee", "jumpers knee"), "M76.5"),
    Term("achilles_tendinopathy", "tendinopatía aquílea", "Achilles tendinopathy",
         ("tendinopatia aquilea", "tendinopatia de aquiles", "tendinitis aquilea", "tendon de aquiles",
          "achilles tendinopathy", "achilles tendinitis", "achilles tendon"), "M76.6"),
)

TREATMENTS: tuple[Term, ...] = (
    Term("prp", "plasma rico en plaquetas (PRP)", "platelet-rich plasma (PRP)",
         ("prp", "plasma rico en plaquetas", "plasma rico", "platelet-rich plasma", "platelet rich plasma",
          "factores de crecimiento", "pfc", "prgf")),
    Term("hyaluronic_acid", "ácido hialurónico", "hyaluronic acid",
         ("acido hialuronico", "ac. hialuronico", "ac hialuronico", "ah ia", "hialuronico", "hyaluronic acid",
          "hyaluronan", "viscosupplementation", "viscosuplementacion", "synvisc", "durolane", "ostenil", "ha injection")),
    Term("corticosteroid", "corticoide", "corticosteroid",
         ("corticoide", "corticoides", "infiltracion corticoide", "infiltracion de corticoide", "triamcinolona",
          "betametasona", "metilprednisolona", "trigon", "celestone", "depo-medrol", "corticosteroid",
          "corticosteroids", "steroid injection", "cortisone", "triamcinolone", "methylprednisolone")),
    Term("bmac", "concentrado de médula ósea (BMAC)", "bone marrow aspirate concentrate (BMAC)",
         ("bmac", "celulas madre", "aspirado de medula osea", "concentrado de medula osea", "stem cell",
          "stem cells", "bone marrow aspirate", "bone marrow concentrate", "msc")),
    Term("physiotherapy", "fisioterapia", "physiotherapy",
         ("fisioterapia", "fisio", "rehabilitacion", "rhb", "hep", "home exercise", "ejercicio excentrico", "ejercicios excentricos",
          "physiotherapy", "physical therapy", "pt program", "eccentric exercise", "eccentric loading", "rehab")),
    Term("eswt", "ondas de choque", "shockwave therapy (ESWT)",
         ("ondas de choque", "ondas choque", "eswt", "shockwave", "shock wave", "extracorporeal shock")),
    Term("surgery_referral", "derivación a cirugía", "referral to surgery",
         ("derivacion a cirugia", "derivado a cirugia", "derivacion a traumatologia", "valoracion quirurgica",
          "protesis", "artroplastia", "referral to surgery", "referred to surgery", "surgical referral",
          "referred for surgery", "arthroplasty", "knee replacement", "hip replacement", "tkr", "tka", "tha")),
)

# measure id -> (synonyms, higher_is_better, minimal clinically important difference)
MEASURES: dict[str, tuple[tuple[str, ...], bool, float]] = {
    "VAS": (("vas", "eva", "escala visual analogica", "visual analogue scale", "nrs", "pain score"), False, 2.0),
    "WOMAC": (("womac",), False, 12.0),
    "KOOS": (("koos",), True, 8.0),
    "LEQUESNE": (("lequesne",), False, 2.0),
}


def _compile(terms: tuple[Term, ...]) -> list[tuple[re.Pattern[str], str]]:
    out = []
    for t in terms:
        for syn in sorted(t.synonyms, key=len, reverse=True):
            out.append((re.compile(r"(?<![a-z0-9])" + re.escape(fold(syn)) + r"(?![a-z0-9])"), t.id))
    return out


@lru_cache(maxsize=1)
def _patterns() -> tuple[list[tuple[re.Pattern[str], str]], list[tuple[re.Pattern[str], str]]]:
    return _compile(DIAGNOSES), _compile(TREATMENTS)


_ICD = re.compile(r"\b([A-Z]\d{2}(?:\.\d{1,3})?)\b")


def find_diagnoses(text: str) -> list[str]:
    """Canonical diagnosis ids mentioned in text (words or ICD-10 codes), in order of first mention."""
    found = _find(text, _patterns()[0])
    for m in _ICD.finditer(text):
        d = diagnosis_from_icd10(m.group(1))
        if d and d not in found:
            found.append(d)
    return found


def find_treatments(text: str) -> list[str]:
    """Canonical treatment ids mentioned in text, in order of first mention."""
    return _find(text, _patterns()[1])


def _find(text: str, pats: list[tuple[re.Pattern[str], str]]) -> list[str]:
    folded = fold(text)
    hits: dict[str, int] = {}
    for pat, tid in pats:
        m = pat.search(folded)
        if m and (tid not in hits or m.start() < hits[tid]):
            hits[tid] = m.start()
    return sorted(hits, key=hits.__getitem__)


def treatment_id(label: str) -> str | None:
    """Map a clinic's own treatment label (a table cell) to a canonical id."""
    found = find_treatments(label)
    return found[0] if found else None


def diagnosis_id(label: str) -> str | None:
    found = find_diagnoses(label)
    return found[0] if found else None


def diagnosis_from_icd10(code: str) -> str | None:
    code = code.strip().upper()
    for t in DIAGNOSES:
        if t.icd10 and code.startswith(t.icd10):
            return t.id
    return None


def measure_id(label: str) -> str | None:
    f = fold(label)
    for mid, (syns, _hib, _mcid) in MEASURES.items():
        if any(re.search(r"(?<![a-z])" + re.escape(s) + r"(?![a-z])", f) for s in syns):
            return mid
    return None


def label(term_id: str, language: str = "en") -> str:
    for t in DIAGNOSES + TREATMENTS:
        if t.id == term_id:
            return t.label_es if language == "es" else t.label_en
    return term_id


def icd10_of(diagnosis: str) -> str | None:
    for t in DIAGNOSES:
        if t.id == diagnosis:
            return t.icd10
    return None
