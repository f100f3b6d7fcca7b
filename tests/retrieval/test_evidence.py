"""The 'what worked' table on hand-worked cases."""

from __future__ import annotations

from casewise.settings import RetrievalSettings
from casewise.types import Case, Diagnosis, Outcome, SimilarCase, Treatment
from retrieval.evidence import asked_months, build_evidence, evidence_table


def _case(cid: str, treatment: str, base: float, after: float, months: float = 12, adverse: bool = False) -> SimilarCase:
    case = Case(case_id=cid, treatments=[Treatment(name=treatment)],
                outcomes=[Outcome(measure="VAS", value=base, months=0, treatment=treatment),
                          Outcome(measure="VAS", value=after, months=months, treatment=treatment)],
                adverse_events=["flare"] if adverse else [])
    return SimilarCase(case_id=cid, score=1.0, similarity=0.8, case=case)


def test_table_gives_median_change_share_improved_and_case_ids() -> None:
    cases = [_case("PT-A", "prp", 7, 3), _case("PT-B", "prp", 8, 3, adverse=True), _case("PT-C", "prp", 6, 5),
             _case("PT-D", "corticosteroid", 7, 6.5), _case("PT-E", "corticosteroid", 7, 7)]
    table = evidence_table(cases)
    assert [r.treatment for r in table] == ["prp", "corticosteroid"], "the treatment that helped ranks first"
    prp = table[0]
    assert prp.n_cases == 3 and prp.case_ids == ["PT-A", "PT-B", "PT-C"]
    vas = prp.outcomes[0]
    assert vas.median_change == -4.0  # changes -4, -5, -1
    assert vas.improved_share == 0.67  # 2 of 3 reach the VAS MCID of 2 points
    assert vas.iqr == (-4.5, -2.5)
    assert prp.adverse_events == 1 and prp.follow_up_months == 12


def test_asked_time_point_is_used_when_recorded() -> None:
    early = _case("PT-A", "corticosteroid", 7, 3, months=3)
    early.case.outcomes.append(early.case.outcomes[0].model_copy(update={"value": 7.5, "months": 12}))
    table = evidence_table([early], months=3)
    assert table[0].outcomes[0].months == 3 and table[0].outcomes[0].median_change == -4
    assert evidence_table([early])[0].outcomes[0].months == 12
    assert asked_months("¿Qué funcionó a los 6 meses?") == 6
    assert asked_months("dolor de 3 m de evolución") is None
    assert asked_months("¿Qué infiltración funcionó mejor al año?") == 12
    assert asked_months("Which treatment had the best outcome at one year?") == 12
    assert asked_months("quickest relief (3 months)") == 3
    assert asked_months("tennis elbow for 8 months, VAS 7. What worked at one year?") == 12, "duration is not the time point"
    assert asked_months("Paciente de 58 años con dolor desde hace un año") is None


def test_asked_time_point_holds_for_every_treatment_row() -> None:
    only_late = _case("PT-A", "prp", 7, 4, months=12)  # PRP's case was seen at 12 months only
    both = _case("PT-B", "corticosteroid", 7, 3, months=3)
    both.case.outcomes.append(both.case.outcomes[0].model_copy(update={"value": 6.5, "months": 12}))
    table = evidence_table([only_late, both], months=3)
    months = {r.treatment: r.outcomes[0].months for r in table}
    assert months == {"prp": 12, "corticosteroid": 3}, "a row must not take the time point of the row before it"


def test_one_lucky_case_does_not_outrank_a_treatment_that_helped_many() -> None:
    cases = [_case(f"PT-P{i}", "prp", 7, 3.5 + i * 0.25) for i in range(5)]  # -3.5 .. -2.5, all reach the MCID
    cases.append(_case("PT-S", "corticosteroid", 7, 3.5))  # one case, -3.5: a little better than PRP's mean
    cases += [_case(f"PT-H{i}", "physiotherapy", 7, 6.5) for i in range(3)]
    assert [r.treatment for r in evidence_table(cases)] == ["prp", "corticosteroid", "physiotherapy"]
    many = cases + [_case(f"PT-S{i}", "corticosteroid", 7, 3.5) for i in range(4)]
    assert evidence_table(many)[0].treatment == "corticosteroid", "with as many cases, the larger effect leads"


def test_unattributed_baseline_of_a_two_treatment_case_is_not_used() -> None:
    sc = _case("PT-A", "corticosteroid", 7, 6.5, months=6)
    sc.case.treatments.append(Treatment(name="physiotherapy"))
    sc.case.outcomes.insert(0, Outcome(measure="VAS", value=9.5, months=0, treatment=None))  # whose baseline?
    row = evidence_table([sc])[0]
    assert row.treatment == "corticosteroid" and row.outcomes[0].median_change == -0.5


def test_a_row_measured_at_another_time_point_than_asked_counts_for_less() -> None:
    flat = [_case(f"PT-F{i}", "physiotherapy", 7, 7, months=12) for i in range(4)]
    late = _case("PT-L", "hyaluronic_acid", 7, 4, months=12)
    early = _case("PT-E", "corticosteroid", 7, 4, months=3)  # the same change, seen only at 3 months
    cases = [early, late, *flat]
    assert [r.treatment for r in evidence_table(cases, months=12)] == ["hyaluronic_acid", "corticosteroid", "physiotherapy"]
    assert [r.treatment for r in evidence_table(cases, months=3)][:2] == ["corticosteroid", "hyaluronic_acid"]


def test_question_naming_a_diagnosis_counts_only_cases_with_it() -> None:
    knees = [_case(f"PT-K{i}", "hyaluronic_acid", 7, 4) for i in range(3)]
    elbows = [_case(f"PT-E{i}", "prp", 7, 3) for i in range(2)]
    for sc in knees:
        sc.case.diagnoses = [Diagnosis(name="knee_oa")]
    for sc in elbows:
        sc.case.diagnoses = [Diagnosis(name="lateral_epicondylitis")]
    cfg = RetrievalSettings(min_cases=3, similarity_floor=0.25)
    ev = build_evidence("Varón de 45 años con epicondilitis lateral, EVA 7. ¿Qué funcionó?", knees + elbows, cfg)
    assert [r.treatment for r in ev.table] == ["prp"] and ev.table[0].n_cases == 2
    assert ev.too_little_evidence and "with lateral_epicondylitis" in ev.note
    assert len(ev.cases) == 5, "the similar cases are still listed"
    assert not build_evidence("65-year-old with knee osteoarthritis", knees + elbows, cfg).too_little_evidence


def test_too_little_evidence_below_the_similarity_floor() -> None:
    cfg = RetrievalSettings(min_cases=3, similarity_floor=0.5)
    weak = [_case(f"PT-{i}", "prp", 7, 3) for i in range(4)]
    for c in weak[1:]:
        c.similarity = 0.2
    ev = build_evidence("q", weak, cfg)
    assert ev.too_little_evidence and "only 1 similar case" in ev.note
    assert not build_evidence("q", [_case(f"PT-{i}", "prp", 7, 3) for i in range(3)], cfg).too_little_evidence
