"""Filters -> a Qdrant payload filter on indexed fields.

Diagnosis and treatment filters go through the same vocabulary as extraction (the built-in one with the clinic's
`extract.vocabulary_file` merged over it), so a filter may name a canonical id ('prp'), any synonym or clinic term
that the vocabulary maps to it ('plasma rico en plaquetas', 'PRGF').

Filters also accept ICD-10 codes, matched against the codes stored on each case (recorded in the clinic's tables or
predicted by the coder): a diagnosis code ('M17.11'), a subcategory or a 3-character category ('M17.1', 'M17', each
matching every code under it), or a code's label in Spanish or English ('Gonartrosis primaria', 'knee osteoarthritis');
for treatments, an ICD-10-PCS procedure code or its first characters ('0SRC0J9', '0SRC'). A value that names both a
vocabulary id and codes ('M17.1' is knee_oa) matches cases with either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from qdrant_client import models

from casewise.errors import RequestError
from casewise.terminology import DIAGNOSIS_CODE, PROCEDURE_CODE, codes_for_label, dotted
from casewise.types import Filters
from casewise.vocabulary import BUILTIN, Term, Vocabulary


def _resolve(values: list[str], terms: tuple[Term, ...], lookup: Callable[[str], str | None], field: str
             ) -> tuple[list[str], list[str]]:
    """(canonical ids, ICD-10 code keys) for the given ids, synonyms, clinic terms, codes or code labels; an unknown
    value fails with the list of valid ids."""
    ids = {t.id for t in terms}
    out: list[str] = []
    codes: list[str] = []
    bad: list[str] = []
    for value in values:
        tid = value if value in ids else lookup(value)
        found = _codes(value, field)
        if tid is None and not found and field == "diagnoses":
            found = codes_for_label(value)
        if tid is None and not found:
            bad.append(value)
        if tid is not None and tid not in out:
            out.append(tid)
        codes.extend(c for c in found if c not in codes)
    if bad:
        what = ("an ICD-10 code ('M17.11'), category ('M17') or code label" if field == "diagnoses"
                else "an ICD-10-PCS code or its first characters ('0SRC')")
        raise RequestError(f"filters.{field}", f"unknown {bad}; valid: {sorted(ids)}, any of their synonyms, or {what}")
    return out, codes


def _codes(value: str, field: str) -> list[str]:
    """The code key a value written as an ICD-10 code stands for ('M17.1' -> 'm17.1'), if it is one."""
    v = value.strip()
    if field == "diagnoses" and DIAGNOSIS_CODE.match(v):
        return [dotted(v)]
    if field == "treatments" and PROCEDURE_CODE.match(v):
        return [v.lower()]
    return []


def _any_of(field: str, ids: list[str], codes: list[str]) -> models.Condition:
    """Cases with one of these vocabulary ids or one of these codes (each code key matches the codes under it)."""
    by_id = models.FieldCondition(key=field, match=models.MatchAny(any=ids)) if ids else None
    by_code = models.FieldCondition(key="codes", match=models.MatchAny(any=codes)) if codes else None
    if by_id is not None and by_code is not None:
        return models.Filter(should=[by_id, by_code])
    cond = by_id or by_code
    assert cond is not None  # _resolve refuses a value that names neither
    return cond


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
        must.append(_any_of("diagnoses", *_resolve(f.diagnoses, vocab.diagnoses, vocab.diagnosis_id, "diagnoses")))
    if f.treatments:
        must.append(_any_of("treatments", *_resolve(f.treatments, vocab.treatments, vocab.treatment_id, "treatments")))
    if f.language:
        must.append(models.FieldCondition(key="language", match=models.MatchValue(value=f.language)))
    if f.date_from or f.date_to:
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise RequestError("filters.date_from", "is after date_to")
        must.append(models.FieldCondition(key="date", range=models.DatetimeRange(
            gte=dt.datetime.combine(f.date_from, dt.time()) if f.date_from else None,
            lte=dt.datetime.combine(f.date_to, dt.time.max) if f.date_to else None)))
    return models.Filter(must=must) if must else None
