"""The 'what worked' table on hand-worked cases."""

from __future__ import annotations

from casewise.settings import RetrievalSettings
from casewise.types import Case, Outcome, SimilarCase, Treatment
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


def test_too_little_evidence_below_the_similarity_floor() -> None:
    cfg = RetrievalSettings(min_cases=3, similarity_floor=0.5)
    weak = [_case(f"PT-{i}", "prp", 7, 3) for i in range(4)]
    for c in weak[1:]:
        c.similarity = 0.2
    ev = build_evidence("q", weak, cfg)
    assert ev.too_little_evidence and "only 1 similar case" in ev.note
    assert not build_evidence("q", [_case(f"PT-{i}", "prp", 7, 3) for i in range(3)], cfg).too_little_evidence
