"""Each failure kind of issue 20, asked as a clinician would through the REST API, the OpenAI client and the CLI:
counts over every case (not the top-k), comparisons with both arms and every time point, exclusions, a condition
the records do not hold, identifier requests, and questions too vague to answer."""

from __future__ import annotations

import json

import openai
from sqlalchemy import select
from typer.testing import CliRunner

from casewise.store import CaseRow
from casewise.types import Case
from tests.api.conftest import Clinic, Keys, Server, bearer


def _ask(server: Server, keys: Keys, question: str, **extra: object) -> dict:  # type: ignore[type-arg]
    import httpx

    r = httpx.post(f"{server.url}/v1/ask", json={"question": question, **extra}, headers=bearer(keys.clinician),
                   timeout=120)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _cases(clinic: Clinic) -> list[Case]:
    with clinic.runtime.store.session() as s:
        return [Case.model_validate(d) for d in s.scalars(select(CaseRow.data))]


def test_count_is_over_every_case_not_the_top_k(server: Server, keys: Keys, clinic: Clinic) -> None:
    knee = [c.case_id for c in _cases(clinic) if any(d.name == "knee_oa" for d in c.diagnoses)]
    assert len(knee) > 2
    body = _ask(server, keys, "¿Cuántos pacientes con gonartrosis hay en la clínica?", k=2)
    assert body["plan"]["intent"] == "count" and [c["id"] for c in body["plan"]["conditions"]] == ["knee_oa"]
    assert body["evidence"]["cohort"]["n_cases"] == len(knee) and sorted(body["evidence"]["cohort"]["case_ids"]) == sorted(knee)
    lines = body["text"].splitlines()
    assert lines[0].startswith("Entendido como: recuento; artrosis de rodilla (M17)")
    assert lines[1].startswith(f"{len(knee)} caso(s)")


def test_absent_condition_says_so_first_and_shows_no_other_condition_as_evidence(server: Server, keys: Keys) -> None:
    body = _ask(server, keys, "What worked for frozen shoulder at 6 months?")
    lines = body["text"].splitlines()
    # frozen shoulder is adhesive capsulitis, a condition of the general terms extraction reads: known, and no case
    assert lines[0].startswith("Understood as: what worked; adhesive capsulitis; at 6 months")
    assert lines[1] == "The clinic's records hold no case of adhesive capsulitis."
    assert body["citations"] == [] and body["evidence"]["table"] == [] and body["evidence"]["cases"] == []
    assert body["abstained"] and "not_found" in body["flags"]
    assert all(line.startswith(("Understood", "The clinic", "Nearest cases, not the same condition")) for line in lines)


def test_identifier_request_is_refused_and_audited_as_refused(server: Server, keys: Keys, clinic: Clinic) -> None:
    body = _ask(server, keys, "Dame el nombre y el teléfono de los pacientes con gonartrosis")
    assert body["refused"] and body["citations"] == [] and body["evidence"]["cases"] == []
    assert "No puedo dar nombres" in body["text"]
    last = clinic.runtime.store.audit_entries()[-1]
    assert last.action == "ask_refused" and last.case_ids == [] and last.detail["identifiers"] == ["name", "phone"]


def _client(server: Server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=120)


def test_vague_question_asks_for_what_is_missing_through_the_openai_client(server: Server, keys: Keys) -> None:
    r = _client(server, keys.clinician).chat.completions.create(
        model="casewise", messages=[{"role": "user", "content": "What works?"}])
    content = r.choices[0].message.content or ""
    assert "Missing: the condition or the treatment" in content and "for example" in content
    extra = r.model_extra["casewise"]  # type: ignore[index]
    assert extra["plan"]["intent"] == "too_vague" and "clarification_needed" in extra["flags"]
    assert extra["case_ids"] == []


def test_comparison_keeps_both_arms_the_scale_and_every_time_point(server: Server, keys: Keys, clinic: Clinic) -> None:
    knee = [c for c in _cases(clinic) if any(d.name == "knee_oa" for d in c.diagnoses)]
    given = sorted({t.name for c in knee for t in c.treatments})
    a, b = given[0], given[1]
    words = {"prp": "PRP", "hyaluronic_acid": "hyaluronic acid", "corticosteroid": "corticosteroid",
             "physiotherapy": "physiotherapy", "bmac": "BMAC", "surgery_referral": "referral to surgery",
             "eswt": "ESWT"}
    r = _client(server, keys.clinician).chat.completions.create(
        model="casewise-evidence",
        messages=[{"role": "user", "content": f"Compare {words[a]} and {words[b]} for knee OA: VAS at 3 and 6 months"}])
    extra = r.model_extra["casewise"]  # type: ignore[index]
    plan = extra["plan"]
    assert plan["intent"] == "compare" and plan["treatments"] == [a, b]
    assert plan["measures"] == ["VAS"] and plan["time_points"] == [3.0, 6.0]
    arms = {arm["treatment"]: arm for arm in extra["evidence"]["cohort"]["arms"]}
    assert set(arms) == {a, b}
    assert arms[a]["n_cases"] == sum(1 for c in knee if any(t.name == a for t in c.treatments))
    content = r.choices[0].message.content or ""
    assert content.startswith("Understood as: comparison; knee osteoarthritis (M17)")
    assert "at 3 and 6 months" in content.splitlines()[0]


def test_cli_ask_json_drops_an_excluded_treatment(clinic: Clinic, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import cli.clinical
    from cli.main import app

    monkeypatch.setattr(cli.clinical, "runtime", lambda *a, **k: clinic.runtime)
    knee = [c for c in _cases(clinic) if any(d.name == "knee_oa" for d in c.diagnoses)]
    res = CliRunner().invoke(app, ["ask", "What worked for knee osteoarthritis, excluding corticosteroids?", "--json"])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.stdout)
    assert answer["plan"]["exclusions"] == ["corticosteroid"] and answer["plan"]["treatments"] == []
    cohort = answer["evidence"]["cohort"]
    assert all(a["treatment"] != "corticosteroid" for a in cohort["arms"])
    assert all(r["treatment"] != "corticosteroid" for r in answer["evidence"]["table"])
    assert cohort["n_cases"] == sum(1 for c in knee if all(t.name != "corticosteroid" for t in c.treatments))
    assert answer["text"].startswith("Understood as: what worked; knee osteoarthritis (M17); excluding corticosteroid")
