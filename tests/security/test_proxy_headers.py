"""api.trust_proxy_headers with a real `casewise serve`: off, X-Forwarded-For is ignored (a client cannot claim
another address, nor dodge its key's rate limit by changing it); on, the address a trusted proxy forwards is the
client's. The client address is what uvicorn's access log and the audit log record."""

from __future__ import annotations

from pathlib import Path

import pytest

from casewise.settings import load_settings
from casewise.store import Store
from tests.reliability.server_process import admin_key, serve

SPOOFED = ["203.0.113.7", "198.51.100.23", "192.0.2.99", "203.0.113.200", "198.51.100.1"]


def _audited_clients(data_dir: Path, action: str) -> list[str | None]:
    store = Store(load_settings(data_dir=data_dir).db_url)
    try:
        return [row.detail.get("client") for row in store.audit_entries() if row.action == action]
    finally:
        store.engine.dispose()


def _access_lines(log: str, path: str) -> list[str]:
    return [line for line in log.splitlines() if f'"GET {path} HTTP/1.1"' in line]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy") / "data"


def test_without_trust_forwarded_for_is_ignored_and_the_rate_limit_holds(data_dir: Path, tmp_path: Path) -> None:
    key = admin_key(data_dir)
    served = serve(data_dir, tmp_path / "serve.log", CASEWISE_API__RATE_PER_MINUTE="1", CASEWISE_API__RATE_BURST="3")
    try:
        with served.client(key) as http:
            codes = [http.get("/v1/keys", headers={"X-Forwarded-For": ip}).status_code for ip in SPOOFED]
    finally:
        served.stop()
    assert codes == [200, 200, 200, 429, 429], "a new X-Forwarded-For per request does not refill the bucket"
    assert _audited_clients(data_dir, "keys_list")[-3:] == ["127.0.0.1"] * 3, "the audit names the real peer"
    lines = _access_lines(served.log_text(), "/v1/keys")
    assert len(lines) == len(SPOOFED)
    assert all("127.0.0.1:" in line for line in lines)
    assert not any(ip in served.log_text() for ip in SPOOFED), "no spoofed address is taken as the client's"


def test_with_trust_the_address_forwarded_by_a_trusted_proxy_is_the_clients(data_dir: Path, tmp_path: Path) -> None:
    key = admin_key(data_dir)
    served = serve(data_dir, tmp_path / "serve.log", CASEWISE_API__TRUST_PROXY_HEADERS="true",
                   CASEWISE_API__FORWARDED_ALLOW_IPS='["127.0.0.1"]')
    try:
        with served.client(key) as http:
            assert http.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
            assert http.get("/v1/keys", headers={"X-Forwarded-For": "198.51.100.23"}).status_code == 200
    finally:
        served.stop()
    lines = _access_lines(served.log_text(), "/healthz")
    assert any("203.0.113.7:" in line for line in lines), lines[-3:]
    assert _audited_clients(data_dir, "keys_list")[-1] == "198.51.100.23", "the audit names the forwarded client"

