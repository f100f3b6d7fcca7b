"""A cheap Spanish/English guess from function words: enough to pick prompts, analyzers and stemmers."""

from __future__ import annotations

import re

from casewise.types import Language

_ES = frozenset(
    ["el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "por", "con", "para", "se", "no", "es", "su", "al", "lo", "como", "más", "pero", "sus", "le", "ya", "o", "fue", "este", "ha", "años", "paciente", "dolor", "rodilla", "tratamiento", "mejoría", "sin", "tras", "desde"]
)
_EN = frozenset(
    ["the", "of", "and", "to", "in", "a", "is", "was", "for", "with", "on", "as", "by", "at", "an", "be", "this", "that", "from", "or", "are", "were", "has", "have", "patient", "pain", "knee", "treatment", "improvement", "no", "after", "since"]
)
_WORD = re.compile(r"[a-záéíóúñü]+")


def detect_language(text: str, default: Language = "es") -> Language:
    """Return 'es' or 'en' by counting common words; `default` on a tie (the clinic's main language)."""
    words = _WORD.findall(text.lower()[:5000])
    es = sum(w in _ES for w in words) + 2 * sum(ch in "ñáéíóú¿¡" for ch in text[:5000])
    en = sum(w in _EN for w in words)
    if es == en:
        return default
    return "es" if es > en else "en"
