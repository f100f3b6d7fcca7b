"""Filters -> a Qdrant payload filter on indexed fields.

Diagnosis and treatment filters go through the same vocabulary as extraction (the built-in one with the clinic's
`extract.vocabulary_file` merged over it), so a filter may name a canonical id ('prp'), any synonym or clinic term
that the vocabulary maps to it ('plasma rico en plaquetas', 'PRGF'), or, for diagnoses, an ICD-10 code ('M17.1').
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from qdrant_client import models

from casewise.errors import RequestError
from casewise.types import Filters
from casewise.vocabulary import BUILTIN, Term, Vocabulary


def _resolve(values: list[str], terms: tuple[Term, ...], lookup: Callable[[str], str | None], field: str) -> list[str]:
    """Canonical ids for the given ids, synonyms or clinic terms; an unknown one fails with the list of valid ids."""
    ids = {t.id for t in terms}
    out: list[str] = []
    bad: list[str] = []
    for value in values:
        tid = value if value in ids else lookup(value)
        if tid is None:
            bad.append(value)
        elif tid not in out:
            out.append(tid)
    if bad:
        raise RequestError(f"filters.{field}", f"unknown {bad}; valid: {sorted(ids)} or any of their synonyms")
    return out


def to_qdrant(f: Filters | None, vocab: Vocabulary = BUILTIN) -> models.Filter | None:
    """Build the filter; unknown vocabulary terms fail with the list of valid ids."""
    if f is None:
        return None
    must: list[models.Condition] = []
    if f.sex:
        must.append(models.FieldCondition(key="sex", match=models.MatchValue(value=f.sex)))
    if f.age_bands:
        must.append(models.FieldCondition(key="age_band", match=models.MatchAny(any=f.age_bands)))
    if f.diagnoses:
        diagnoses = _resolve(f.diagnoses, vocab.diagnoses, vocab.diagnosis_id, "diagnoses")
        must.append(models.FieldCondition(key="diagnoses", match=models.MatchAny(any=diagnoses)))
    if f.treatments:
        treatments = _resolve(f.treatments, vocab.treatments, vocab.treatment_id, "treatments")
        must.append(models.FieldCondition(key="treatments", match=models.MatchAny(any=treatments)))
    if f.language:
        must.append(models.FieldCondition(key="language", match=models.MatchValue(value=f.language)))
    if f.date_from or f.date_to:
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise RequestError("filters.date_from", "is after date_to")
        must.append(models.FieldCondition(key="date", range=models.DatetimeRange(
            gte=dt.datetime.combine(f.date_from, dt.time()) if f.date_from else None,
            lte=dt.datetime.combine(f.date_to, dt.time.max) if f.date_to else None)))
    return models.Filter(must=must) if must else None
