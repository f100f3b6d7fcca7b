"""The vector index is unreachable (a Qdrant server URL where nothing listens, as when the server goes down):
the API answers 503 `index_unavailable` in one line naming the index, readiness says why, and nothing is
audited as returned. A real closed port, no mock."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from app.keys import create_key
from app.runtime import Runtime
from casewise.settings import ApiSettings, load_settings
from tests.reliability.server_process import free_port


def test_unreachable_qdrant_server_gives_a_one_line_503_and_readiness_says_why(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    rt = Runtime(load_settings(data_dir=tmp_path / "data", index={"backend": "server", "url": url, "timeout_s": 2}))
    try:
        _, key = create_key(rt.store, "dr-down", "clinician")
        before = len(rt.store.audit_entries())
        with TestClient(create_app(rt, ApiSettings()), raise_server_exceptions=False) as c:
            r = c.post("/v1/cases/similar", json={"description": "gonartrosis, EVA 7"},
                       headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 503, r.text
            error = r.json()["error"]
            assert error["code"] == "index_unavailable" and "\n" not in error["message"]
            assert "vector index" in error["message"]
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["index"].startswith("error")
        assert len(rt.store.audit_entries()) == before  # no case was returned, so none is audited as seen
    finally:
        rt.close()
