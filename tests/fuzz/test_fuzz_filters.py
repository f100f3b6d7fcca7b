"""Hypothesis harness for search filters: any Filters the API accepts becomes a filter the embedded index can run,
or a RequestError naming the field.

Expected exceptions: RequestError only (unknown vocabulary id, date_from after date_to).

Valid values are vocabulary ids, ICD-10 codes or categories and ICD-10 labels (the bundled tables); junk is text
with no word of three letters and no code shape, which names nothing.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from casewise.errors import RequestError
from casewise.terminology import DIAGNOSIS_CODE, PROCEDURE_CODE
from casewise.types import Filters
from casewise.vectors.edge import to_edge_filter
from casewise.vocabulary import DIAGNOSES, TREATMENTS
from retrieval.filters import to_qdrant

DIAG = [t.id for t in DIAGNOSES] + ["M17.11", "M17", "m75.1", "knee osteoarthritis", "Gonartrosis primaria"]
TREAT = [t.id for t in TREATMENTS] + ["0SRC0J9", "0SRC"]
JUNK = st.text(alphabet=st.characters(exclude_categories=("L",)) | st.sampled_from("aMx"), max_size=8).filter(
    lambda s: not DIAGNOSIS_CODE.match(s.strip()) and not PROCEDURE_CODE.match(s.strip()))
DATES = st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))


def _ids(known: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(st.sampled_from(known), JUNK), max_size=5)


FILTERS = st.builds(
    Filters,
    sex=st.sampled_from([None, "F", "M"]),
    age_bands=st.lists(st.sampled_from(["0-9", "50-59", "90+", "", "x"]), max_size=4),
    diagnoses=_ids(DIAG),
    treatments=_ids(TREAT),
    date_from=DATES,
    date_to=DATES,
    language=st.sampled_from([None, "es", "en"]),
)


@given(f=FILTERS)
@settings(max_examples=100, deadline=None, database=None)
def test_any_filter_translates_for_the_index_or_names_the_bad_field(f: Filters) -> None:
    unknown = any(d not in DIAG for d in f.diagnoses) or any(t not in TREAT for t in f.treatments)
    backwards = bool(f.date_from and f.date_to and f.date_from > f.date_to)
    try:
        flt = to_qdrant(f)
    except RequestError as exc:
        assert unknown or backwards, f"refused a valid filter: {exc}"
        assert exc.field in ("filters.diagnoses", "filters.treatments", "filters.date_from")
        return
    assert not unknown and not backwards, "accepted an unknown id or a backwards date range"
    wanted = sum(bool(x) for x in (f.sex, f.age_bands, f.diagnoses, f.treatments, f.language,
                                   f.date_from or f.date_to))
    assert (len(flt.must) if flt else 0) == wanted  # type: ignore[arg-type]
    edge = to_edge_filter(flt)  # the default backend must be able to run every filter the API builds
    assert (edge is None) == (flt is None)
