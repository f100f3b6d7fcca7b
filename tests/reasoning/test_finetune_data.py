"""SFT data: rows from invented, de-identified cases, checked with the real de-identifier and, for drafted
reasoning, the real llama.cpp server."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from casewise.errors import ConfigError
from casewise.llm import OpenAICompatibleLLM
from casewise.settings import DeidSettings, LLMSettings
from casewise.types import Case, Diagnosis, Outcome, Treatment
from indexing.deid import Deidentifier
from reasoning.finetune.card import card_markdown, data_card, write_card
from reasoning.finetune.config import load_config
from reasoning.finetune.data import DataError, build_rows, read_rows, write_rows
from tests.reasoning.reasoning_testdata import closed_port_url


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(DeidSettings())


def _case(n: int, *, lang: str = "en", tx: str = "prp", vas: tuple[float, float] = (7, 3), months: float = 6,
          ae: list[str] | None = None, age: str | None = None, dx: str = "knee_oa") -> Case:
    return Case(
        case_id=f"PT-TEST{n:05d}", sex="F" if n % 2 else "M", age_band=age or f"{40 + 10 * (n % 4)}-{49 + 10 * (n % 4)}",
        language=lang,  # type: ignore[arg-type]
        diagnoses=[Diagnosis(name=dx, side="left", severity=f"KL{1 + n % 4}")],
        treatments=[Treatment(name=tx, sessions=1 + n % 3)],
        outcomes=[Outcome(measure="VAS", value=vas[0], months=0, treatment=tx),
                  Outcome(measure="VAS", value=vas[1], months=months, treatment=tx)],
        adverse_events=ae or [],
    )


def _cohort(n: int) -> list[Case]:
    return [_case(i, lang="es" if i % 3 else "en", vas=(7, 7 - i % 5)) for i in range(n)]


def test_rows_say_what_was_done_and_how_it_turned_out(deid: Deidentifier) -> None:
    en = _case(1, lang="en", tx="prp", vas=(7, 3), months=6)
    es = _case(2, lang="es", tx="hyaluronic_acid", vas=(8, 7.5), months=12)
    res = build_rows([en, es], detector=deid, test_fraction=0.5)
    rows = {r.meta.case_id: r for r in res.train + res.test}
    r_en, r_es = rows[en.case_id], rows[es.case_id]
    assert "knee osteoarthritis" in r_en.Question and r_en.Question.endswith("What was done and how did it turn out?")
    assert "platelet-rich plasma (PRP)" in r_en.Response
    assert "VAS 7 → 3 at 6 months (-4, a clinically important improvement)" in r_en.Response
    assert r_en.meta.outcome == "improved" and r_en.meta.treatments == ["prp"]
    assert "Tratamiento: ácido hialurónico" in r_es.Response and "sin cambio clínicamente relevante" in r_es.Response
    assert r_es.meta.outcome == "unchanged"
    for r in (r_en, r_es):
        assert r.meta.case_id not in r.Question + r.Complex_CoT + r.Response
        assert r.target() == f"## Thinking\n\n{r.Complex_CoT}\n\n## Final Response\n\n{r.Response}"


def test_no_patient_on_both_sides_and_sides_are_stable(deid: Deidentifier) -> None:
    cohort = _cohort(30)
    first = build_rows(cohort, detector=deid, test_fraction=0.25)
    test_ids = {r.meta.case_id for r in first.test}
    train_ids = {r.meta.case_id for r in first.train}
    assert test_ids and train_ids and not test_ids & train_ids
    assert len(test_ids) + len(train_ids) == 30
    # a new patient joins: nobody already held out moves into training (or back)
    grown = build_rows([*cohort, _case(99)], detector=deid, test_fraction=0.25)
    assert test_ids <= {r.meta.case_id for r in grown.test}
    assert train_ids <= {r.meta.case_id for r in grown.train}


def test_duplicates_untreated_and_overlong_rows_are_dropped(deid: Deidentifier) -> None:
    a, twin = _case(3), _case(3).model_copy(update={"case_id": "PT-TWIN00003"})
    untreated = _case(4).model_copy(update={"treatments": []})
    res = build_rows([a, twin, untreated], detector=deid)
    assert len(res.train) + len(res.test) == 1
    assert res.dropped == {"duplicate": 1, "no_treatment": 1}
    short = build_rows([_case(5), _case(6)], detector=deid, max_chars=200)
    assert short.dropped["too_long"] == 2 and not short.train + short.test


def test_rows_with_residual_identifiers_are_refused(deid: Deidentifier, caplog: pytest.LogCaptureFixture) -> None:
    leaky = _case(7, ae=["dolor; avisar a Marta Jiménez Ruiz en el 612 345 678"], lang="es")
    clean = _case(8, lang="es")
    with caplog.at_level(logging.DEBUG):
        res = build_rows([leaky, clean], detector=deid)
    kept = [r.meta.case_id for r in res.train + res.test]
    assert kept == [clean.case_id]
    assert res.dropped["residual_identifier"] == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "612 345 678" not in logged and "Jiménez" not in logged


def test_reasoning_is_drafted_by_the_configured_llm(deid: Deidentifier, server_settings: LLMSettings) -> None:
    llm = OpenAICompatibleLLM(server_settings.model_copy(update={"timeout_s": 300.0}))
    cases = [_case(10, lang="en"), _case(11, lang="en", tx="corticosteroid", vas=(7, 6))]
    res = build_rows(cases, detector=deid, llm=llm, draft_max_tokens=48)
    rows = res.train + res.test
    assert res.settings["reasoning"] == "llm"
    drafted = [r for r in rows if r.meta.cot_source == "llm"]
    assert drafted, "the model's drafts were all rejected"
    template = build_rows(cases, detector=deid)
    by_id = {r.meta.case_id: r.Complex_CoT for r in template.train + template.test}
    assert all(r.Complex_CoT != by_id[r.meta.case_id] for r in drafted)


def test_unreachable_llm_falls_back_to_the_template(deid: Deidentifier) -> None:
    llm = OpenAICompatibleLLM(LLMSettings(backend="openai", base_url=closed_port_url(), max_retries=0, timeout_s=5))
    res = build_rows([_case(12), _case(13)], detector=deid, llm=llm)
    rows = res.train + res.test
    assert len(rows) == 2 and all(r.meta.cot_source == "template" for r in rows)
    assert all("minimal clinically important difference" in r.Complex_CoT for r in rows)


def test_card_counts_and_files_round_trip(deid: Deidentifier, tmp_path: Path) -> None:
    res = build_rows(_cohort(12), detector=deid, test_fraction=0.25)
    card = data_card(res)
    assert card["train"]["rows"] == len(res.train) and card["test"]["rows"] == len(res.test)
    assert card["train"]["languages"]["es"] + card["test"]["languages"]["es"] == 8
    assert card["train"]["diagnoses"]["knee_oa"] == len(res.train)
    assert card["patients_on_both_sides"] == 0
    js, md = write_card(card, tmp_path)
    assert "PT-TEST" not in js.read_text() + md.read_text()  # a card is shareable: no case ids
    assert "| rows |" in card_markdown(card)
    write_rows(res.train, tmp_path / "train.json")
    back = read_rows(tmp_path / "train.json")
    assert [r.model_dump() for r in back] == [r.model_dump() for r in res.train]
    assert set(json.loads((tmp_path / "train.json").read_text())[0]) == {"Question", "Complex_CoT", "Response", "meta"}


def test_bad_data_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing.json: no such file"):
        read_rows(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"Question": "q", "Complex_CoT": "c", "Response": ""}]))
    with pytest.raises(DataError, match=r"bad.json: row 0 has no text in field 'Response'"):
        read_rows(bad)


def test_training_configs(tmp_path: Path) -> None:
    gpu = load_config("huatuogpt-o1-8b")
    assert gpu.base_model == "FreedomIntelligence/HuatuoGPT-o1-8B" and gpu.precision == "bf16" and gpu.device == "cuda"
    assert load_config("huatuogpt-o1-7b").served_id() == "FreedomIntelligence/HuatuoGPT-o1-7B"
    bad = tmp_path / "bad.yaml"
    bad.write_text("base_model: x\nlearning_rate: -1\n")
    with pytest.raises(ConfigError, match="bad.yaml: learning_rate"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such training config"):
        load_config("no-such-config")
