"""No identifier of the clinic's patients appears in any API response, after questions and case reads."""

from __future__ import annotations

import httpx

from casewise.vocabulary import fold
from tests.api.conftest import Clinic, Keys, bearer


def test_api_responses_carry_no_patient_identifier(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    from synth import load_ground_truth

    truth = load_ground_truth(clinic.source)
    h = bearer(keys.clinician)
    bodies: list[str] = []
    for q in truth.questions[:4]:
        r = http.post("/v1/ask", json={"question": q.text, "k": 8}, headers=h)
        assert r.status_code == 200
        bodies.append(r.text)
        for cid in {c["case_id"] for c in r.json()["citations"]}:
            case = http.get(f"/v1/cases/{cid}", headers=h)
            assert case.status_code == 200
            bodies.append(case.text)
    r = http.post("/v1/chat/completions", headers=h,
                  json={"model": "casewise-evidence", "messages": [{"role": "user", "content": truth.questions[0].text}]})
    bodies.append(r.text)
    r = http.get("/v1/documents", headers=bearer(keys.admin))
    everything = fold("\n".join(bodies))
    leaks = [item.kind for p in truth.patients for item in p.phi
             if item.kind not in ("birth_date", "visit_date") and fold(item.text) in everything]
    assert len(bodies) > 5 and leaks == []
