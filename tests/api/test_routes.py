"""Every route over real HTTP, with both roles, and the error shape."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.conftest import Clinic, Keys, audit_count, bearer, parse_sse

QUESTION_ES = "Mujer de 58 años con gonartrosis grado 2, EVA 7/10 pese a AINEs. ¿Qué funcionó en pacientes similares?"
QUESTION_EN = "62-year-old man with knee osteoarthritis, VAS 7/10 despite NSAIDs. What worked?"

CLINICIAN_ROUTES = [("POST", "/v1/ask", {"question": QUESTION_EN}), ("POST", "/v1/cases/similar", {"description": "knee"}),
                    ("GET", "/v1/cases/PT-X", None), ("GET", "/v1/models", None),
                    ("POST", "/v1/chat/completions", {"model": "casewise", "messages": [{"role": "user", "content": "x"}]})]
ADMIN_ROUTES = [("GET", "/v1/documents", None), ("DELETE", "/v1/documents/nope", None),
                ("POST", "/v1/index/reindex", {}), ("GET", "/v1/index/status", None), ("GET", "/v1/index/jobs/x", None),
                ("POST", "/v1/index/backup", {"path": "/tmp/x.tar.gz"}),
                ("GET", "/v1/audit/verify", None), ("GET", "/v1/audit", None), ("GET", "/v1/keys", None),
                ("POST", "/v1/keys", {"name": "x", "role": "clinician"}), ("DELETE", "/v1/keys/abc", None)]


def _call(http: httpx.Client, method: str, path: str, body: object, headers: dict[str, str] | None = None
          ) -> httpx.Response:
    return http.request(method, path, json=body, headers=headers or {})


def _assert_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), CLINICIAN_ROUTES + ADMIN_ROUTES)
def test_nothing_answers_without_a_key(http: httpx.Client, method: str, path: str, body: object) -> None:
    _assert_error(_call(http, method, path, body), 401, "unauthorized")
    _assert_error(_call(http, method, path, body, bearer("cw_000000000000_wrong")), 401, "unauthorized")
    _assert_error(_call(http, method, path, body, {"X-API-Key": "not-a-key"}), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_clinician_keys_are_refused_admin_routes(http: httpx.Client, keys: Keys, method: str, path: str,
                                                  body: object) -> None:
    _assert_error(_call(http, method, path, body, bearer(keys.clinician)), 403, "forbidden")


def test_health_ready_metrics_and_security_headers(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"store": "ok", "index": "ok", "embedding": "ok",
                                                     "llm": "not configured"}}
    metrics = http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'casewise_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text
    page = http.get("/")
    assert page.status_code == 200 and "<title>Casewise</title>" in page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "access-control-allow-origin" not in http.options(
        "/v1/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}).headers


def test_ask_returns_a_cited_answer(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    r = http.post("/v1/ask", json={"question": QUESTION_ES, "k": 6}, headers=bearer(keys.clinician))
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["language"] == "es" and a["mode"] == "evidence"
    assert 0 < len(a["evidence"]["cases"]) <= 6
    cited = [c["case_id"] for c in a["citations"] if c["valid"]]
    assert cited and set(cited) <= set(clinic.case_ids)
    assert any(cid in a["text"] for cid in cited)
    assert r.headers["cache-control"] == "no-store"


def test_ask_streams_server_sent_events(http: httpx.Client, keys: Keys) -> None:
    with http.stream("POST", "/v1/ask", json={"question": QUESTION_EN, "stream": True, "language": "en",
                                              "filters": {"diagnoses": ["knee_oa"]}},
                     headers=bearer(keys.clinician)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    events = parse_sse(body)
    kinds = [e for e, _ in events]
    assert kinds[0] == "delta" and kinds[-1] == "answer" and "error" not in kinds
    answer = json.loads(events[-1][1])
    streamed = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    assert streamed == answer["text"] and answer["language"] == "en"
    assert all("knee_oa" in [d["name"] for d in c["case"]["diagnoses"]] for c in answer["evidence"]["cases"])


def test_invalid_requests_name_the_field(http: httpx.Client, keys: Keys) -> None:
    r = http.post("/v1/ask", json={"question": "   "}, headers=bearer(keys.clinician))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["message"].startswith("question")
    r = http.post("/v1/ask", json={"question": "x", "k": 0}, headers=bearer(keys.clinician))
    assert r.status_code == 422 and "k" in r.json()["error"]["message"]
    r = http.post("/v1/ask", json={"question": "x", "filters": {"sex": "X"}}, headers=bearer(keys.clinician))
    assert r.status_code == 422 and "filters.sex" in r.json()["error"]["message"]
    r = http.post("/v1/cases/similar", json={}, headers=bearer(keys.clinician))
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("description")
    r = http.post("/v1/ask", content=b"{not json", headers={**bearer(keys.clinician), "Content-Type": "application/json"})
    assert r.status_code == 422
    _assert_error(http.get("/v1/no-such-route"), 404, "not_found")


def test_similar_by_description_and_by_case(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    r = http.post("/v1/cases/similar", json={"description": "knee osteoarthritis, PRP", "k": 3},
                  headers=bearer(keys.clinician))
    assert r.status_code == 200 and len(r.json()["cases"]) == 3
    target = clinic.case_ids[0]
    r = http.post("/v1/cases/similar", json={"case_id": target, "k": 4}, headers=bearer(keys.clinician))
    assert r.status_code == 200
    ids = [c["case_id"] for c in r.json()["cases"]]
    assert ids and target not in ids
    _assert_error(http.post("/v1/cases/similar", json={"case_id": "PT-NOPE"}, headers=bearer(keys.clinician)),
              404, "case_not_found")


def test_case_is_deidentified(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    cid = clinic.case_ids[1]
    r = http.get(f"/v1/cases/{cid}", headers=bearer(keys.clinician))
    assert r.status_code == 200
    case = r.json()["case"]
    assert case["case_id"] == cid and case["case_id"].startswith("PT-")
    # The record numbers of the source notes never leave the store.
    raw = " ".join(p.read_text(errors="ignore") for p in (clinic.source / "notes").glob("*.txt"))
    import re

    for nhc in set(re.findall(r"historia:\s*(\d{5,10})", raw)):
        assert nhc not in r.text
    _assert_error(http.get("/v1/cases/PT-DOESNOTEXIST", headers=bearer(keys.clinician)), 404, "case_not_found")


def test_admin_key_may_do_clinician_things(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    assert http.get(f"/v1/cases/{clinic.case_ids[0]}", headers=bearer(keys.admin)).status_code == 200


def test_documents_manifest_upload_and_delete(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    listing = http.get("/v1/documents", headers=bearer(keys.admin)).json()
    assert listing["counts"].get("indexed", 0) == len(listing["documents"]) > 0
    assert {"facts", "chunk_ids"}.isdisjoint(listing["documents"][0])
    note = ("Primera visita. NHC: 4455667\nVarón de 55 años con gonartrosis de rodilla izquierda grado 2 de "
            "Kellgren-Lawrence, EVA 8/10. Plan: plasma rico en plaquetas (PRP), 3 infiltraciones.\n").encode()
    r = http.post("/v1/documents", files={"file": ("../../nota nueva.txt", note, "text/plain")},
                  headers=bearer(keys.admin))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "indexed" and doc["chunks"] > 0
    saved = clinic.data_dir.resolve() / "uploads" / "nota nueva.txt"
    assert doc["source_path"] == str(saved) and saved.read_bytes() == note
    r = http.post("/v1/documents", files={"file": ("virus.exe", b"MZ", "application/octet-stream")},
                  headers=bearer(keys.admin))
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("file")
    r = http.delete(f"/v1/documents/{doc['doc_id']}", headers=bearer(keys.admin))
    assert r.json() == {"deleted": True, "id": doc["doc_id"]}
    assert not saved.exists()
    ids = [d["doc_id"] for d in http.get("/v1/documents", headers=bearer(keys.admin)).json()["documents"]]
    assert doc["doc_id"] not in ids
    _assert_error(http.delete(f"/v1/documents/{doc['doc_id']}", headers=bearer(keys.admin)), 404, "document_not_found")


def test_reindex_runs_in_the_background(http: httpx.Client, keys: Keys) -> None:
    r = http.post("/v1/index/reindex", headers=bearer(keys.admin))
    assert r.status_code == 202
    job = r.json()
    assert job["state"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
        job = http.get(f"/v1/index/jobs/{job['job_id']}", headers=bearer(keys.admin)).json()
    assert job["state"] == "done", job
    assert job["report"]["added"] == 0 and job["report"]["unchanged"] > 0
    status = http.get("/v1/index/status", headers=bearer(keys.admin)).json()
    assert status["cases"] > 0 and status["chunks"] > 0 and status["recent_jobs"][0]["job_id"] == job["job_id"]
    r = http.post("/v1/index/reindex", json={"paths": ["relative/path"]}, headers=bearer(keys.admin))
    assert r.status_code == 422 and "paths[0]" in r.json()["error"]["message"]
    _assert_error(http.get("/v1/index/jobs/nope", headers=bearer(keys.admin)), 404, "job_not_found")


def test_keys_create_list_revoke(http: httpx.Client, keys: Keys) -> None:
    r = http.post("/v1/keys", json={"name": "nurse", "role": "clinician"}, headers=bearer(keys.admin))
    assert r.status_code == 201
    new = r.json()
    assert new["key"].startswith("cw_" + new["key_id"])
    assert http.get("/v1/models", headers=bearer(new["key"])).status_code == 200
    listed = http.get("/v1/keys", headers=bearer(keys.admin)).json()["keys"]
    assert new["key_id"] in [k["key_id"] for k in listed]
    assert all("key" not in k and "digest" not in k and "salt" not in k for k in listed)
    assert http.delete(f"/v1/keys/{new['key_id']}", headers=bearer(keys.admin)).status_code == 200
    _assert_error(http.get("/v1/models", headers=bearer(new["key"])), 401, "unauthorized")
    _assert_error(http.delete("/v1/keys/nope", headers=bearer(keys.admin)), 404, "key_not_found")


def test_openapi_declares_every_route(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/cases/similar", "/v1/cases/{case_id}", "/v1/documents", "/v1/documents/{doc_id}",
                 "/v1/index/reindex", "/v1/index/status", "/v1/index/backup", "/v1/reports", "/v1/reports/{run_id}",
                 "/v1/chat/completions", "/v1/models", "/v1/audit/verify", "/healthz", "/readyz", "/metrics"):
        assert path in spec["paths"], path
    ask = spec["paths"]["/v1/ask"]["post"]["responses"]
    assert ask["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerResponse")
    assert "text/event-stream" in ask["200"]["content"]
    assert ask["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_audit_verify_and_list(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    before = audit_count(clinic.runtime)
    v = http.get("/v1/audit/verify", headers=bearer(keys.admin)).json()
    assert v["ok"] is True and v["entries"] == before and audit_count(clinic.runtime) == before
    entries = http.get("/v1/audit", params={"limit": 5}, headers=bearer(keys.admin)).json()["entries"]
    assert 0 < len(entries) <= 5
    assert audit_count(clinic.runtime) == before + 1
