"""De-identify a pandas table column by column (see `Deidentifier.deidentify_table`)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import TYPE_CHECKING, Any

from indexing.deid.dates import find_dates, shift_date_text

if TYPE_CHECKING:
    import pandas as pd

    from indexing.deid.deidentifier import Deidentifier

log = logging.getLogger(__name__)

_DROP = {"name", "id", "address", "phone", "email"}
AGE_CAP = 89


def _as_date(value: Any, dayfirst: bool = True) -> dt.date | None:
    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])  # ISO first: dayfirst parsing would swap its month and day
    except ValueError:
        pass
    try:
        ts = pd.to_datetime(text, dayfirst=dayfirst, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None
    return None if ts is None or pd.isna(ts) else ts.date()


def _age(birth: dt.date | None, at: dt.date) -> int | str | None:
    if birth is None:
        return None
    years = at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    return "90+" if years > AGE_CAP else years


def _shift_cell(value: Any, days: int) -> Any:
    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return value
    if isinstance(value, pd.Timestamp):
        return value + pd.Timedelta(days=days)
    if isinstance(value, (dt.date, dt.datetime)):
        return value + dt.timedelta(days=days)
    text = str(value).strip()
    matches = find_dates(text)
    if len(matches) == 1 and matches[0].start == 0 and matches[0].end == len(text):
        shifted = shift_date_text(text, matches[0].kind, days, "es")
        if shifted is not None:
            return shifted
    parsed = _as_date(text)
    return (parsed + dt.timedelta(days=days)).isoformat() if parsed else None


def deidentify_table(
    deid: Deidentifier,
    df: pd.DataFrame,
    column_roles: dict[str, str],
    *,
    patient_column: str | None,
    reference_date: dt.date | None = None,
) -> pd.DataFrame:
    """Implementation of `Deidentifier.deidentify_table` (roles already validated)."""
    import pandas as pd

    unmapped = [c for c in df.columns if c not in column_roles]
    if unmapped:
        log.warning("deid: dropping %d column(s) without a role: %s", len(unmapped), ", ".join(map(str, unmapped)))
    raw_keys: list[str | None] = (
        [None if pd.isna(v) else str(v) for v in df[patient_column]] if patient_column is not None else [None] * len(df)
    )
    out = pd.DataFrame(index=df.index)
    date_cols = [c for c, r in column_roles.items() if r == "date" and c in df.columns]
    today = reference_date or dt.date.today()
    for col in df.columns:
        role = column_roles.get(col)
        if role is None or role in _DROP:
            continue
        series = df[col]
        if role == "keep":
            out[col] = series
        elif role == "patient_id":
            out[col] = [deid.pseudonym(k) if k is not None else None for k in
                        ([None if pd.isna(v) else str(v) for v in series])]
        elif role == "birth_date":
            ages = []
            for pos, value in enumerate(series):
                at = today
                for dc in date_cols:
                    ref = _as_date(df[dc].iloc[pos])
                    if ref is not None:
                        at = ref
                        break
                ages.append(_age(_as_date(value), at))
            name = "age" if "age" not in df.columns and "age" not in out.columns else f"{col}_age"
            out[name] = pd.Series(ages, index=df.index, dtype=object)
        elif role == "date":
            out[col] = [
                _shift_cell(v, deid.date_offset_days(k)) if k is not None else None
                for v, k in zip(series, raw_keys)
            ]
        elif role == "free_text":
            texts = ["" if pd.isna(v) else str(v) for v in series]
            results = deid.deidentify_many(texts, patient_keys=raw_keys)
            out[col] = [r.text if not pd.isna(v) else v for r, v in zip(results, series)]
    return out
