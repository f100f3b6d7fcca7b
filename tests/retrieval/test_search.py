"""Similar-case retrieval and asking on the indexed 30-patient clinic (real index, real embedder)."""

from __future__ import annotations

import pytest

from app import clinical as service
from casewise.errors import RequestError
from casewise.types import Filters


def _diagnoses(sc) -> set[str]:  # type: ignore[no-untyped-def]
    return {d.name for d in sc.case.diagnoses} if sc.case else set()


@pytest.mark.parametrize("query", [
    "Mujer de 60 años con gonartrosis grado 2 en rodilla derecha, EVA 7/10.",
    "65-year-old man with knee osteoarthritis KL 2, VAS 7/10.",
])
def test_similar_cases_share_the_diagnosis_in_either_language(indexed, query: str) -> None:
    rt, _ = indexed
    results = service.similar(rt, query, k=5, actor="test")
    assert len(results) == 5
    assert len({r.case_id for r in results}) == 5, "one patient appears once, however many notes match"
    assert sum("knee_oa" in _diagnoses(r) for r in results) >= 4
    assert all(r.why for r in results), "each case says why it matched"


def test_filters_restrict_the_cases(indexed) -> None:
    rt, _ = indexed
    results = service.similar(rt, "dolor crónico tras infiltración", filters=Filters(sex="F"), k=8, actor="test")
    assert results and all(r.case.sex == "F" for r in results)
    elbow = service.similar(rt, "dolor", filters=Filters(diagnoses=["lateral_epicondylitis"]), k=8, actor="test")
    assert elbow and all("lateral_epicondylitis" in _diagnoses(r) for r in elbow)


def test_unknown_filter_value_names_the_field_and_the_valid_values(indexed) -> None:
    rt, _ = indexed
    # neither a vocabulary term nor an ICD-10 code or label ('gout' is ICD-10's M10 since filters accept labels)
    with pytest.raises(RequestError, match=r"filters.diagnoses: unknown \['Excalibur syndrome'\]; valid: .*knee_oa"):
        service.similar(rt, "dolor", filters=Filters(diagnoses=["Excalibur syndrome"]), actor="test")
    with pytest.raises(RequestError, match="description: is empty"):
        service.similar(rt, "   ", actor="test")


def test_similar_to_an_existing_case_excludes_it(indexed) -> None:
    rt, _ = indexed
    some = rt.store.get_case(next(iter(rt.store.get_cases([r.case_id for r in service.similar(
        rt, "artrosis de rodilla", k=1, actor="test")]))))
    results = service.similar(rt, case_id=some.case_id, k=5, actor="test")
    assert some.case_id not in [r.case_id for r in results]
    assert sum(bool(_diagnoses(r) & {d.name for d in some.diagnoses}) for r in results) >= 4


def test_ask_answers_in_the_question_language_citing_only_retrieved_cases(indexed) -> None:
    rt, _ = indexed
    answer = service.ask(rt, "Varón de 55 años con gonartrosis KL2, EVA 7. ¿Qué tratamientos funcionaron?", actor="test")
    retrieved = {c.case_id for c in answer.evidence.cases}
    # Since issue 20 the answer gives the whole-store cohort per treatment after how it read the question, and cites
    # the cases behind each number: the similar ones or the cohort's, never another.
    assert answer.language == "es" and answer.text.startswith("Entendido como: qué funcionó; artrosis de rodilla")
    assert answer.evidence.cohort is not None
    cohort = set(answer.evidence.cohort.case_ids)
    assert len(answer.citations) >= 3 and {c.case_id for c in answer.citations} <= retrieved | cohort
    assert answer.evidence.table and answer.evidence.table[0].case_ids
    assert all(cid in answer.text for arm in answer.evidence.cohort.arms for cid in arm.case_ids[:6])
    english = service.ask(rt, "Woman, 60, knee osteoarthritis, VAS 8. What worked?", actor="test")
    assert english.language == "en" and "per treatment:" in english.text


def test_questions_are_audited_de_identified(indexed) -> None:
    rt, _ = indexed
    before = len(rt.store.audit_entries())
    answer = service.ask(rt, "Paciente Rosa Jiménez Blanco, DNI 12345678Z, gonartrosis dcha, EVA 7", actor="dr-test")
    entries = rt.store.audit_entries()
    assert len(entries) == before + 1
    last = entries[-1]
    assert last.actor == "dr-test" and last.action == "ask"
    assert "Jiménez" not in last.query and "12345678Z" not in last.query and "Rosa" not in last.query
    cohort = answer.evidence.cohort.case_ids if answer.evidence.cohort else []  # every case the answer returns
    assert last.case_ids == list(dict.fromkeys([c.case_id for c in answer.evidence.cases] + cohort))
    assert rt.store.verify_audit()[0]


def test_fusion_keeps_a_clear_lexical_winner_that_rank_fusion_would_demote() -> None:
    """Score margins count: a case far ahead on the words stays first when the dense scores barely differ."""
    from retrieval.search import RRF_K, fuse_case_scores

    sparse = {"A": 30.0, "B": 10.0, "C": 9.5, "D": 9.0}
    dense = {"A": 0.505, "B": 0.520, "C": 0.510, "D": 0.500}
    fused = fuse_case_scores(sparse, dense, list(sparse))
    assert max(fused, key=fused.__getitem__) == "A"
    rrf = {k: 1 / (RRF_K + sorted(sparse, key=sparse.get, reverse=True).index(k))
           + 1 / (RRF_K + sorted(dense, key=dense.get, reverse=True).index(k)) for k in sparse}
    assert max(rrf, key=rrf.__getitem__) == "B", "the case rank fusion would have put first"
    only_dense = fuse_case_scores({}, dense, list(dense))  # a query with no indexed words
    assert max(only_dense, key=only_dense.__getitem__) == "B"


def test_a_lexical_match_in_another_language_counts_less_than_the_dense_evidence() -> None:
    """An English question over Spanish notes: shared cognates and codes weigh half, so a case that is close in
    meaning is not pushed below one that only shares spellings."""
    from retrieval.search import W_SPARSE_OTHER_LANGUAGE, fuse_case_scores

    sparse = {"A": 20.0, "B": 9.0, "C": 6.0, "D": 5.0, "E": 4.0}
    dense = {"A": 0.60, "B": 0.72, "C": 0.55, "D": 0.50, "E": 0.45}
    same = fuse_case_scores(sparse, dense, list(sparse))
    assert max(same, key=same.__getitem__) == "A"  # same language: the words decide
    other = fuse_case_scores(sparse, dense, list(sparse), {k: W_SPARSE_OTHER_LANGUAGE for k in sparse})
    assert max(other, key=other.__getitem__) == "B"  # other language: the meaning decides
    assert W_SPARSE_OTHER_LANGUAGE < 1.0


def test_why_lists_the_words_of_the_question_not_their_stems(indexed) -> None:
    import re

    rt, _ = indexed
    q = "Mujer de 64 años con gonartrosis de rodilla derecha, Kellgren-Lawrence grado 3, EVA 8"
    results = service.similar(rt, q, k=5, actor="test")
    shown = [t for r in results for w in r.why if w.startswith("terms: ") for t in w.removeprefix("terms: ").split(", ")]
    assert shown, "the cases share words with the question"
    # "rodilla", never the stem "rodill"; words with their accents, never folded ("anos")
    assert set(shown) <= set(re.findall(r"[^\W_]+", q.lower())), shown


def test_why_leaves_out_the_question_s_own_words_and_ages_that_do_not_match(indexed) -> None:
    """A clinician reads "why" as what this past patient shares with theirs: not "pacientes", "tratamientos" or the
    "10" of "EVA 7/10", and an age band only when the patient's age falls in it."""
    rt, _ = indexed
    q = "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs. ¿Qué tratamientos funcionaron en pacientes similares?"
    results = service.similar(rt, q, k=8, actor="test")
    why = [w for r in results for w in r.why]
    shown = {t for w in why if w.startswith("terms: ") for t in w.removeprefix("terms: ").split(", ")}
    assert "gonartrosis" in shown
    assert not shown & {"10", "7", "58", "años", "pacientes", "tratamientos", "funcionaron", "similares", "pese"}, shown
    bands = [w.removeprefix("age band: ") for w in why if w.startswith("age band: ")]
    assert set(bands) <= {"50-59"}, bands
    assert any(r.case and r.case.age_band != "50-59" for r in results), "cases of other ages are ranked, not labelled"
