"""Unexpected failures: a JSON 500 with a stable code, and neither the response nor the log quotes the data."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import status_for
from casewise.errors import CasewiseError, IndexUnavailableError, LLMError, RequestError
from casewise.settings import ApiSettings
from tests.api.conftest import Clinic, Keys, bearer


def test_unexpected_exception_is_a_json_500_without_the_message(clinic: Clinic, keys: Keys,
                                                                caplog: pytest.LogCaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(clinic.runtime, ApiSettings())

    def boom(*_a: object, **_k: object) -> None:
        raise ValueError("cannot parse 'Rosa Martínez, NHC 7788990'")

    monkeypatch.setattr(app.state.clinical, "case", boom)
    with caplog.at_level(logging.ERROR), TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(f"/v1/cases/{clinic.case_ids[0]}", headers=bearer(keys.clinician))
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "internal error; see the server log"}}
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "ValueError" in caplog.text and "Rosa" not in caplog.text and "7788990" not in caplog.text


@pytest.mark.parametrize(("exc", "status", "code"), [
    (RequestError("k", "too big"), 422, "invalid_request"), (IndexUnavailableError("down"), 503, "index_unavailable"),
    (LLMError("timeout"), 502, "llm_error"), (CasewiseError("x"), 500, "internal_error")])
def test_domain_errors_map_to_stable_codes(exc: CasewiseError, status: int, code: str) -> None:
    assert status_for(exc) == (status, code)


def test_index_unavailable_is_503(clinic: Clinic, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(clinic.runtime, ApiSettings())

    def down(*_a: object, **_k: object) -> None:
        raise IndexUnavailableError("the Qdrant server at http://qdrant:6333 does not answer; check index.url")

    monkeypatch.setattr(app.state.clinical, "similar", down)
    with TestClient(app) as c:
        r = c.post("/v1/cases/similar", json={"description": "knee"}, headers=bearer(keys.clinician))
    assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"


def test_store_failure_is_503(clinic: Clinic, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    app = create_app(clinic.runtime, ApiSettings())

    def locked(*_a: object, **_k: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(app.state.clinical, "case", locked)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(f"/v1/cases/{clinic.case_ids[0]}", headers=bearer(keys.clinician))
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"


def test_asking_an_empty_index_is_409_saying_how_to_index(tmp_path: object) -> None:
    """A server started on a new data folder answers questions with what to do, not an empty evidence table."""
    from app.keys import create_key
    from app.runtime import Runtime
    from casewise.settings import load_settings

    rt = Runtime(load_settings(data_dir=tmp_path))
    _, key = create_key(rt.store, "empty", "clinician")
    try:
        with TestClient(create_app(rt, ApiSettings())) as c:
            for path, body in (("/v1/ask", {"question": "knee OA, VAS 7: what worked?"}),
                               ("/v1/cases/similar", {"description": "knee OA, VAS 7"})):
                r = c.post(path, json=body, headers=bearer(key))
                assert r.status_code == 409, r.text
                err = r.json()["error"]
                assert err["code"] == "nothing_indexed" and "casewise index FOLDER" in err["message"]
    finally:
        rt.close()
