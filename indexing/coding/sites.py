"""Body sites: which parts of the body a code's label names, and which a note names.

A code whose label names a site ('Pleural effusion', 'RM cerebral') is only coded from a note that names that site
somewhere, in any of its words: CodiEsp's 'derrame' / 'effusion' is pleural far more often than not, a clinic's
'derrame articular de rodilla' never is; its 'MRI' is mostly of the brain, a tendon clinic's is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from indexing.coding.text import normalize

# Each site with the words Spanish and English notes and labels name it by (normalised as notes are). Only sites
# whose words are unambiguous: 'cervical' (neck or cervix) and 'joint' / 'articular' (any joint) are left out.
_SITES: dict[str, str] = {
    "brain": "cerebro cerebral cerebrales encefalo encefalico encefalica craneal craneo intracraneal brain cerebrum "
             "cerebellum cerebelo cerebeloso cranial intracranial skull meninges meningeo",
    "pleura": "pleura pleural pleurales hemitorax torax toracico toracica toracocentesis thorax thoracic chest "
              "hemithorax thoracentesis",
    "pericardium": "pericardio pericardico pericardica pericardial pericardium",
    "knee": "rodilla rodillas knee knees rotula rotuliano rotuliana patela patelar patella patellar",
    "hip": "cadera caderas hip hips coxofemoral",
    "shoulder": "hombro hombros shoulder shoulders glenohumeral escapulohumeral subacromial",
    "elbow": "codo codos elbow elbows epicondilo epicondyle epitroclea",
    "ankle": "tobillo tobillos ankle ankles",
    "foot": "pie pies foot feet plantar calcaneo calcaneal heel talon",
    "hand": "mano manos hand hands dedo dedos finger fingers",
    "wrist": "muneca munecas wrist wrists carpo carpal carpiano",
    "eye": "ojo ojos ocular eye eyes retina retinal",
    "kidney": "rinon rinones renal renales kidney kidneys",
    "liver": "higado hepatico hepatica liver hepatic",
}
# Conditions that name their site ('gonartrosis' is of the knee): they name it in a note, but are no site themselves.
_CONDITIONS: dict[str, str] = {
    "brain": "encefalitis encephalitis encefalopatia encephalopathy meningitis",
    "pleura": "pleuritis pleurisy",
    "pericardium": "pericarditis",
    "knee": "gonartrosis gonalgia",
    "hip": "coxartrosis coxalgia",
    "elbow": "epicondilitis epicondylitis epitrocleitis",
}


def _normalised(words: str) -> frozenset[str]:
    return frozenset(tok for w in words.split() for tok in normalize(w))


@lru_cache(maxsize=1)
def _anatomy() -> dict[str, frozenset[str]]:
    """Site -> the anatomical words naming it, as the coder's tokens write them ('rodillas' -> 'rodill')."""
    return {site: _normalised(words) for site, words in _SITES.items()}


@lru_cache(maxsize=1)
def _words() -> dict[str, frozenset[str]]:
    """Site -> every word naming it: its anatomy and the conditions of it."""
    return {site: words | _normalised(_CONDITIONS.get(site, "")) for site, words in _anatomy().items()}


_SIDES = frozenset(tok for w in "derecho derecha izquierdo izquierda bilateral ambos ambas right left both".split()
                   for tok in normalize(w))


def where_only(term: Iterable[str]) -> bool:
    """True when a term names only a site and a side ('left ankle', 'rodilla derecha'): where, not what."""
    words = frozenset().union(*_anatomy().values()) | _SIDES
    toks = [t for t in term if t != "~"]  # '~' marks a scattered term
    return bool(toks) and all(t in words for t in toks)


def sites_in(tokens: Iterable[str]) -> frozenset[str]:
    """The sites these normalised tokens name."""
    toks = set(tokens)
    return frozenset(site for site, words in _words().items() if toks & words)


def sites_of_labels(labels: Iterable[str]) -> frozenset[str]:
    """The sites a code's labels name (a label with no site word names none)."""
    return sites_in(tok for label in labels for tok in normalize(label))
