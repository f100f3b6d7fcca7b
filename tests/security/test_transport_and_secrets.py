"""Security properties of a running `casewise serve`, over HTTPS with a self-signed certificate made in the test:
TLS and HSTS, CORS off by default, API keys never logged or stored in clear and every bad key refused alike,
no patient identifier in the server log or the audit export after a full index + ask run, a data folder only its
owner can open. (Security headers and CORS preflights are covered in tests/api/test_routes.py and test_limits.py.)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from casewise.vocabulary import fold
from tests.reliability.server_process import Served, admin_key, cli, serve, wait_job

PATIENTS = 4


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid for a day, and its key (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casewise-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Site:
    served: Served
    cert: Path
    data: Path
    clinic: Path
    admin: str = field(repr=False)  # a failing assertion prints the fixture: never the keys
    clinician: str = field(repr=False)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.served.url, headers=headers, timeout=120, verify=str(self.cert))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("secure")
    clinic = root / "clinic"
    generate_clinic(clinic, patients=PATIENTS, seed=5)
    data = root / "a" / "data"  # created by the first command, with its parent
    admin = admin_key(data)
    made = cli(data, "keys", "create", "--name", "dr-sec", "--role", "clinician", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    cert, key = _self_signed(root)
    served = serve(data, root / "serve.log", tls=(cert, key), verify=str(cert))
    s = Site(served, cert, data, clinic, admin, made.stdout.strip().splitlines()[-1])
    with s.client(admin) as c:
        job = wait_job(c, c.post("/v1/index/reindex", json={"paths": [str(clinic)]}).json()["job_id"])
        assert job["state"] == "done", job
    yield s
    served.stop()


def test_https_with_hsts_and_no_plain_http_or_cross_origin_access(site: Site) -> None:
    with site.client() as c:
        r = c.get("/healthz", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and str(r.url).startswith("https://")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "access-control-allow-origin" not in r.headers  # CORS is off unless api.cors_origins names an origin
    with pytest.raises(httpx.HTTPError):
        httpx.get(site.served.url.replace("https://", "http://") + "/healthz", timeout=10)
    with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused by a verifying client
        httpx.get(f"{site.served.url}/healthz", timeout=10)


def test_serve_refuses_half_a_tls_configuration(site: Site, tmp_path: Path) -> None:
    done = cli(tmp_path / "d", "serve", "--ssl-certfile", str(site.cert), "--port", "9")
    assert done.returncode == 2
    assert "--ssl-keyfile" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_keys_are_refused_alike_and_no_key_is_logged_or_stored(site: Site) -> None:
    key_id, secret = site.clinician[3:].split("_", 1)
    other_id = site.admin[3:].split("_", 1)[0]
    bad = [f"cw_{key_id}_{'A' * len(secret)}",  # a real key id with a wrong secret
           f"cw_{'0' * len(key_id)}_{secret}",  # the right secret under an unknown id
           f"cw_{other_id}_{secret}",  # another key's id
           "not-a-key", "cw_"]
    with site.client() as c:
        bodies = set()
        for k in bad:
            r = c.post("/v1/cases/similar", json={"description": "gonartrosis"}, headers={"Authorization": f"Bearer {k}"})
            assert r.status_code == 401
            bodies.add(r.text)
        assert len(bodies) == 1, "the refusal differs by key: it tells which key ids exist"
        assert c.get("/v1/documents", headers={"X-API-Key": site.admin}).status_code == 200
        assert c.post("/v1/cases/similar", json={"description": "gonartrosis"},
                      headers={"Authorization": f"Bearer {site.clinician}"}).status_code == 200
    log = site.served.log_text()
    for k in (site.admin, site.clinician):
        assert k not in log and k.split("_", 2)[2] not in log
    stored = b"".join(p.read_bytes() for p in site.data.glob("casewise.db*"))
    for k in (site.admin, site.clinician):
        assert k.split("_", 2)[2].encode() not in stored, "a key's secret is stored in clear"
    listed = cli(site.data, "keys", "list", "--data-dir", str(site.data))
    assert key_id in listed.stdout and secret not in listed.stdout


def test_no_patient_identifier_in_the_server_log_or_the_audit_export(site: Site, tmp_path: Path) -> None:
    from synth import load_ground_truth

    truth = load_ground_truth(site.clinic)
    with site.client(site.clinician) as c:
        for q in truth.questions[:3]:
            r = c.post("/v1/ask", json={"question": q.text, "k": 5})
            assert r.status_code == 200
            for cid in {x["case_id"] for x in r.json()["citations"]}:
                assert c.get(f"/v1/cases/{cid}").status_code == 200
        # A question that carries identifiers itself: they must not reach the log or the audit trail either.
        p = truth.patients[0]
        named = next(i.text for i in p.phi if i.kind == "patient_name")
        r = c.post("/v1/ask", json={"question": f"¿Qué funcionó para {named}, NHC {p.nhc}, con gonartrosis?"})
        assert r.status_code == 200
    export = tmp_path / "audit.jsonl"
    done = cli(site.data, "audit", "export", "--out", str(export), "--data-dir", str(site.data))
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert any(e["action"] == "ask" for e in entries) and any(e["action"] == "reindex" for e in entries)
    everything = fold(site.served.log_text() + "\n" + export.read_text(encoding="utf-8"))
    # Dates are shifted, not removed, so a shifted date may coincide with another patient's real one: names,
    # record numbers, national ids, phones, e-mails and addresses are what must never appear.
    leaks = [item.kind for pt in truth.patients for item in pt.phi
             if item.kind not in ("birth_date", "visit_date") and fold(item.text) in everything]
    assert leaks == []


def test_the_data_folder_is_private_to_its_owner(site: Site) -> None:
    assert site.data.stat().st_mode & 0o777 == 0o700
    assert (site.data / "casewise.db").stat().st_mode & 0o077 in (0, 0o044, 0o004, 0o040)  # inside a 0700 folder
