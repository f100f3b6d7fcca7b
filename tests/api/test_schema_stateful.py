"""Schemathesis stateful run against /openapi.json over real HTTP: chains of calls that follow the API's OpenAPI links.

The links declared by the routes (create a key -> revoke it; upload a document -> delete it / read its case; start a
re-index -> poll the job; similar cases or an answer -> read a case), plus the ones schemathesis infers, drive a
hypothesis state machine. Every response must conform to the schema with no 5xx, and each transition must mean
what it says: a new key authenticates with its role, a revoked key gets 401, an upload is in the manifest and a
deleted one is not, an answer adds an `ask` entry to the audit log, and the audit chain stays intact.

Guards keep the shared session clinic intact: only documents and keys made by the run itself are deleted, a
re-index never takes an existing folder the fuzzer invented (it could name "/") and never rebuilds, and the
backup route is left out (it writes where it is told). Whatever a scenario created is removed in its teardown.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Keys, Server, bearer
from tests.reliability.hostile_docs import _one_page, _pdf, _stream

SCENARIOS = 20
STEPS = 8
NOTE = b"BT /F1 11 Tf 72 712 Td (Paciente con gonalgia; fisioterapia 6 semanas, EVA de 7 a 3.) Tj ET"
MISSING = "zz-not-created-by-this-run"
CHECKED: collections.Counter[str] = collections.Counter()  # transitions whose meaning was checked


def _note_pdf() -> bytes:
    """A real one-page PDF with a short clinical note (its bytes start with %PDF-, so the upload is file.pdf)."""
    return _pdf(_one_page(_stream(NOTE)))


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:  # a text/event-stream answer, an HTML report
        return {}
    return data if isinstance(data, dict) else {}


def _route(case: Any) -> tuple[str, str]:
    return case.operation.method.upper(), case.operation.path


def _machine(server: Server, keys: Keys) -> type:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema = schema.exclude(path="/v1/index/backup").exclude(path="/v1/chat/completions")
    # Schema-valid input only: chains need accepted calls (malformed bodies are the stateless run's business).
    schema.config.generation.update(modes=["positive"])
    base = schema.as_state_machine()
    admin = bearer(keys.admin)
    pdf = _note_pdf()

    class CasewiseMachine(base):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            self.http = httpx.Client(base_url=server.url, headers=admin, timeout=60)
            self.secrets: dict[str, tuple[str, str]] = {}  # key id -> (secret, role), keys made by this scenario
            self.uploaded: set[str] = set()
            self.jobs: set[str] = set()
            self.audit_before = 0
            self.uploads = 0

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": admin, "timeout": 60}

        def before_call(self, case: Any) -> None:
            route = _route(case)
            if route == ("DELETE", "/v1/keys/{key_id}") and case.path_parameters.get("key_id") not in self.secrets:
                case.path_parameters["key_id"] = MISSING  # never revoke the suite's own keys
            elif route == ("DELETE", "/v1/documents/{doc_id}") and case.path_parameters.get("doc_id") not in self.uploaded:
                case.path_parameters["doc_id"] = MISSING  # never delete the clinic's documents
            elif route == ("POST", "/v1/index/reindex") and isinstance(case.body, dict):
                case.body["rebuild"] = False
                paths = case.body.get("paths") or []
                if any(isinstance(p, str) and Path(p).is_absolute() and Path(p).exists() for p in paths):
                    case.body.pop("paths")  # the configured folders, not whatever the fuzzer named
            elif route == ("POST", "/v1/documents") and isinstance(case.body, dict):
                self.uploads += 1
                if self.uploads % 2:  # every other upload is a real note; the rest stay fuzzed
                    case.body["file"] = pdf
            elif route == ("POST", "/v1/keys") and isinstance(case.body, dict):
                name = str(case.body.get("name", "")).strip()
                if not name.isprintable():  # the server wants printable names (422 otherwise): let most keys exist
                    case.body["name"] = f"fuzz-{len(name)}"
            elif route == ("POST", "/v1/ask"):
                self.audit_before = self.http.get("/v1/audit/verify").json()["entries"]

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            route, status = _route(case), response.status_code
            body = _json(response) if status < 300 else {}
            if route == ("POST", "/v1/keys") and status == 201:
                self.secrets[body["key_id"]] = (body["key"], body["role"])
                # The new key authenticates at once, with its role: admin reads the index status, clinician may not.
                got = self.http.get("/v1/index/status", headers=bearer(body["key"])).status_code
                assert got == (200 if body["role"] == "admin" else 403), f"new {body['role']} key: {got}"
                CHECKED["key works"] += 1
            elif route == ("DELETE", "/v1/keys/{key_id}") and status == 200:
                secret, _ = self.secrets.pop(body["id"])
                for path in ("/v1/index/status", "/v1/reports"):
                    got = self.http.get(path, headers=bearer(secret))
                    assert got.status_code == 401, f"a revoked key still gets {got.status_code} on {path}"
                CHECKED["revoked key refused"] += 1
            elif route == ("POST", "/v1/documents") and status == 201:
                self.uploaded.add(body["doc_id"])
                listed = {d["doc_id"] for d in self.http.get("/v1/documents").json()["documents"]}
                assert body["doc_id"] in listed, "an accepted upload is in the manifest"
                CHECKED["upload listed"] += 1
            elif route == ("DELETE", "/v1/documents/{doc_id}") and status == 200:
                self.uploaded.discard(body["id"])
                listed = {d["doc_id"] for d in self.http.get("/v1/documents").json()["documents"]}
                assert body["id"] not in listed, "a deleted document left the manifest"
                again = self.http.delete(f"/v1/documents/{body['id']}")
                assert again.status_code == 404, "deleting twice finds nothing the second time"
                CHECKED["deleted document gone"] += 1
            elif route == ("POST", "/v1/index/reindex") and status == 202:
                self.jobs.add(body["job_id"])
            elif route == ("POST", "/v1/ask") and status == 200 and body:
                entries = self.http.get("/v1/audit", params={"after": self.audit_before}).json()["entries"]
                asks = [e for e in entries if e["action"] == "ask" and e["actor"].startswith(f"key:{keys.admin_id}:")]
                assert asks, "an answer is audited, under the key that asked"
                CHECKED["answer audited"] += 1
            elif route == ("GET", "/v1/index/jobs/{job_id}") and status == 200:
                CHECKED["job polled"] += 1
            elif status in (401, 403):
                raise AssertionError(f"the admin key was refused ({status}) on {route}")

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            # Domain checks (an unknown diagnosis id, a question that de-identifies to nothing) may refuse
            # schema-valid input with a 4xx naming the field: that is not a failure; 5xx and schema breaks are.
            case.validate_response(response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs,
                                   recorder=self.recorder)

        def teardown(self) -> None:
            try:
                for doc_id in list(self.uploaded):
                    assert self.http.delete(f"/v1/documents/{doc_id}").status_code == 200
                for key_id in list(self.secrets):
                    assert self.http.delete(f"/v1/keys/{key_id}").status_code == 200
                deadline = time.monotonic() + 60
                for job_id in self.jobs:
                    job = self.http.get(f"/v1/index/jobs/{job_id}").json()
                    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
                        time.sleep(0.2)
                        job = self.http.get(f"/v1/index/jobs/{job_id}").json()
                    assert job["state"] == "done", f"re-index job ended {job['state']}: {job.get('error')}"
                verify = self.http.get("/v1/audit/verify").json()
                assert verify["ok"], f"audit chain broken at {verify['first_bad_seq']}"
            finally:
                self.http.close()
                super().teardown()

    return CasewiseMachine


def test_stateful_call_chains_keep_the_api_consistent(server: Server, keys: Keys) -> None:
    CHECKED.clear()
    machine = _machine(server, keys)
    machine.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None, database=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck)))
    # Every chain ran and was checked at least once (the run is derandomized: the same chains every time).
    assert set(CHECKED) == {"key works", "revoked key refused", "upload listed", "deleted document gone",
                            "answer audited", "job polled"}, dict(CHECKED)
    # The suite's own keys survived the run.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/keys", headers=bearer(keys.admin)).status_code == 200
        assert http.get("/v1/reports", headers=bearer(keys.clinician)).status_code == 200
