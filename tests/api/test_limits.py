"""413 for bodies over the limits, 429 when a key's token bucket is empty."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from casewise.settings import ApiSettings
from tests.api.conftest import Clinic, Keys, Server, bearer, start_server, stop_server


def test_json_body_over_the_limit_is_413(http: httpx.Client, keys: Keys) -> None:
    big = {"question": "x" * (70 * 1024)}
    r = http.post("/v1/ask", json=big, headers=bearer(keys.clinician))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_body_without_length_is_counted(http: httpx.Client, keys: Keys) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    r = http.post("/v1/ask", content=chunks(), headers={**bearer(keys.clinician), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_upload_over_the_limit_is_413(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    # The session server allows 1 MB uploads.
    r = http.post("/v1/documents", files={"file": ("big.txt", b"a" * (2 * 1024 * 1024), "text/plain")},
                  headers=bearer(keys.admin))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert not (clinic.data_dir / "uploads" / "big.txt").exists()


def test_question_over_the_service_limit_is_422(http: httpx.Client, keys: Keys) -> None:
    r = http.post("/v1/ask", json={"question": "z" * 5000}, headers=bearer(keys.clinician))
    assert r.status_code == 422 and "question" in r.json()["error"]["message"]


@pytest.fixture()
def tight_server(clinic: Clinic) -> Iterator[Server]:
    app = create_app(clinic.runtime, ApiSettings(rate_per_minute=60, rate_burst=3))
    running = start_server(app)
    yield Server(url=running.url, app=app)
    stop_server(running)


def test_rate_limit_per_key(tight_server: Server, keys: Keys) -> None:
    with httpx.Client(base_url=tight_server.url) as c:
        codes = [c.get("/v1/models", headers=bearer(keys.clinician)).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        r = c.get("/v1/models", headers=bearer(keys.clinician))
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        # Buckets are per key: another key still has its burst.
        assert c.get("/v1/models", headers=bearer(keys.admin)).status_code == 200
        assert "casewise_rate_limited_total 3.0" in c.get("/metrics").text


def test_cors_is_off_by_default_and_on_when_configured(clinic: Clinic) -> None:
    from fastapi.testclient import TestClient

    preflight = {"Origin": "https://intranet.clinic.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with TestClient(create_app(clinic.runtime, ApiSettings())) as c:
        assert "access-control-allow-origin" not in c.options("/v1/ask", headers=preflight).headers
    app = create_app(clinic.runtime, ApiSettings(cors_origins=["https://intranet.clinic.example"]))
    with TestClient(app) as c:
        r = c.options("/v1/ask", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://intranet.clinic.example"
        assert "access-control-allow-credentials" not in r.headers
