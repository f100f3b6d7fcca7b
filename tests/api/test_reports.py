"""Evaluation report runs over the API: listed for clinicians and admins, served as JSON, HTML (with a policy that
lets exactly its own style through) and Markdown; and the nightly evaluation after a re-index."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import httpx
import pytest

from tests.api.conftest import Clinic, Keys, Server, bearer


@pytest.fixture(scope="module")
def two_runs(clinic: Clinic) -> list[str]:
    from eval.report import Report, reports_root, section_from_metrics, write_report

    ids = []
    for day, recall in ((1, 0.8), (2, 0.9)):
        r = Report(run_id=f"202611{day:02d}T020000000Z-run", kind="run", title="Casewise evaluation",
                   created_at=f"2026-11-{day:02d}T02:00:00+00:00")
        r.add(section_from_metrics("retrieval", "Finding similar past cases", {"recall@10": recall}))
        write_report(r, reports_root(clinic.runtime.settings))
        ids.append(r.run_id)
    return ids


def test_clinicians_and_admins_list_runs_newest_first(http: httpx.Client, keys: Keys, two_runs: list[str]) -> None:
    for key in (keys.clinician, keys.admin):
        r = http.get("/v1/reports", headers=bearer(key))
        assert r.status_code == 200
        runs = [x for x in r.json()["reports"] if x["id"] in two_runs]
        assert [x["id"] for x in runs] == two_runs[::-1]
        assert runs[0]["headline"] == {"retrieval.recall@10": 0.9}
        assert runs[0]["links"]["html"] == f"/v1/reports/{two_runs[1]}/html"
    assert http.get("/v1/reports").status_code == 401


def test_one_run_as_json_html_and_markdown(http: httpx.Client, keys: Keys, two_runs: list[str]) -> None:
    run = two_runs[1]
    doc = http.get(f"/v1/reports/{run}", headers=bearer(keys.clinician))
    assert doc.status_code == 200 and doc.json()["run_id"] == run
    page = http.get(f"/v1/reports/{run}/html", headers=bearer(keys.clinician))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # The page's inline style block is allowed by its hash, and nothing else: no script, no remote resource.
    csp = page.headers["content-security-policy"]
    style = re.search(r"<style>(.*?)</style>", page.text, re.DOTALL).group(1)  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert "compared with the run of 2026-11-01" in page.text
    md = http.get(f"/v1/reports/{run}/markdown", headers=bearer(keys.admin))
    assert md.status_code == 200 and "| recall@10 | 0.900 |" in md.text


@pytest.mark.parametrize("path", ["/v1/reports/20990101T000000000Z-run", "/v1/reports/20990101T000000000Z-run/html",
                                  "/v1/reports/..%2F..%2Fcasewise.db", "/v1/reports/.hidden"])
def test_unknown_or_unsafe_runs_are_not_found(http: httpx.Client, keys: Keys, path: str) -> None:
    r = http.get(path, headers=bearer(keys.clinician))
    assert r.status_code in (404, 422)
    assert r.json()["error"]["code"] in ("report_not_found", "not_found", "invalid_request")


def test_nightly_evaluation_runs_after_the_reindex_job(server: Server, clinic: Clinic, tmp_path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from api.scheduler import evaluate_after
    from eval.report import list_runs, reports_root

    app = server.app
    indexing = app.state.indexing  # type: ignore[attr-defined]
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "n1", "question": "Mujer de 60 años con gonartrosis, EVA 7. ¿Qué funcionó?",
                                     "expected_cases": clinic.case_ids[:3]}) + "\n", encoding="utf-8")
    rt = clinic.runtime
    before = {r.run_id for r in list_runs(reports_root(rt.settings))}
    monkeypatch.setattr(rt.settings, "eval", rt.settings.eval.model_copy(update={"questions": questions}))
    job = indexing.start_reindex([clinic.source])  # unchanged files: a quick, real re-index job
    folder = evaluate_after(indexing, rt, app.state.index_lock, job.job_id, poll_s=0.2)  # type: ignore[attr-defined]
    assert folder is not None and folder.name not in before
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["title"] == "Nightly evaluation"
    assert report["context"]["question set"] == "q.jsonl (1 question)"
    # A clinic's own questions carry no known identifiers: the leak check re-runs the detectors instead.
    assert {s["key"] for s in report["sections"]} == {"retrieval", "answers", "latency", "leak"}
    leak = next(s for s in report["sections"] if s["key"] == "leak")
    assert leak["metrics"]["residual_hit_rate"] < 0.1  # placeholders, pseudonyms, shifted dates are not hits
