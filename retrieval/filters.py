"""Filters -> a Qdrant payload filter on indexed fields."""

from __future__ import annotations

import datetime as dt

from qdrant_client import models

from casewise.errors import RequestError
from casewise.types import Filters
from casewise.vocabulary import DIAGNOSES, TREATMENTS

_DIAG_IDS = {t.id for t in DIAGNOSES}
_TREAT_IDS = {t.id for t in TREATMENTS}


def to_qdrant(f: Filters | None) -> models.Filter | None:
    """Build the filter; unknown vocabulary ids fail with the list of valid ones."""
    if f is None:
        return None
    must: list[models.Condition] = []
    if f.sex:
        must.append(models.FieldCondition(key="sex", match=models.MatchValue(value=f.sex)))
    if f.age_bands:
        must.append(models.FieldCondition(key="age_band", match=models.MatchAny(any=f.age_bands)))
    if f.diagnoses:
        bad = [d for d in f.diagnoses if d not in _DIAG_IDS]
        if bad:
            raise RequestError("filters.diagnoses", f"unknown {bad}; valid: {sorted(_DIAG_IDS)}")
        must.append(models.FieldCondition(key="diagnoses", match=models.MatchAny(any=f.diagnoses)))
    if f.treatments:
        bad = [t for t in f.treatments if t not in _TREAT_IDS]
        if bad:
            raise RequestError("filters.treatments", f"unknown {bad}; valid: {sorted(_TREAT_IDS)}")
        must.append(models.FieldCondition(key="treatments", match=models.MatchAny(any=f.treatments)))
    if f.language:
        must.append(models.FieldCondition(key="language", match=models.MatchValue(value=f.language)))
    if f.date_from or f.date_to:
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise RequestError("filters.date_from", "is after date_to")
        must.append(models.FieldCondition(key="date", range=models.DatetimeRange(
            gte=dt.datetime.combine(f.date_from, dt.time()) if f.date_from else None,
            lte=dt.datetime.combine(f.date_to, dt.time.max) if f.date_to else None)))
    return models.Filter(must=must) if must else None
