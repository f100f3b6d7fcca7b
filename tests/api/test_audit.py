"""Exactly one audit entry per request that returns clinical content; the chain verifies; keys never logged."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.api.conftest import Clinic, Keys, audit_count, bearer


def _requests(clinic: Clinic) -> list[tuple[str, str, dict | None, str]]:
    cid = clinic.case_ids[2]
    chat = {"model": "casewise", "messages": [{"role": "user", "content": "rodilla PRP EVA"}]}
    return [
        ("POST", "/v1/ask", {"question": "hombro, bursitis, corticoide"}, "ask"),
        ("POST", "/v1/ask", {"question": "knee PRP", "stream": True}, "ask"),
        ("POST", "/v1/cases/similar", {"description": "tendinopatía aquílea"}, "similar"),
        ("POST", "/v1/cases/similar", {"case_id": cid}, "similar"),
        ("GET", f"/v1/cases/{cid}", None, "case"),
        ("POST", "/v1/chat/completions", chat, "ask"),
        ("POST", "/v1/chat/completions", {**chat, "stream": True}, "ask"),
        ("GET", "/v1/documents", None, "documents_list"),
    ]


def test_one_entry_per_clinical_request(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    store = clinic.runtime.store
    for method, path, body, action in _requests(clinic):
        before = audit_count(clinic.runtime)
        r = http.request(method, path, json=body, headers=bearer(keys.admin))
        assert r.status_code == 200, (path, r.text)
        assert audit_count(clinic.runtime) == before + 1, path
        last = store.audit_entries()[-1]
        assert last.action == action
        assert last.actor == f"key:{keys.admin_id}:it-test"
        assert last.detail.get("client") == "127.0.0.1", f"{path}: the audit names where the request came from"
    # Refused requests return nothing clinical and write nothing.
    before = audit_count(clinic.runtime)
    assert http.post("/v1/ask", json={"question": "x"}).status_code == 401
    assert http.get("/v1/cases/PT-NOPE", headers=bearer(keys.clinician)).status_code == 404
    assert http.post("/v1/ask", json={"question": " "}, headers=bearer(keys.clinician)).status_code == 422
    assert audit_count(clinic.runtime) == before
    assert store.verify_audit()[0]
    secrets = (keys.admin.split("_", 2)[2], keys.clinician.split("_", 2)[2])
    dump = json.dumps([[e.actor, e.query, e.detail] for e in store.audit_entries()], default=str)
    assert not any(s in dump for s in secrets)


def test_question_is_deidentified_in_the_audit(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    q = "Paciente Rosa Martínez Ferrer, NHC 7788990, gonartrosis, EVA 7. ¿Qué funcionó?"
    assert http.post("/v1/ask", json={"question": q}, headers=bearer(keys.clinician)).status_code == 200
    entry = clinic.runtime.store.audit_entries()[-1]
    assert "Rosa" not in entry.query and "7788990" not in entry.query


def test_aborted_stream_is_audited_once(http: httpx.Client, keys: Keys, clinic: Clinic) -> None:
    """A client that reads the first text and hangs up got clinical content: that is one entry."""
    from api.services.clinical import ClinicalService

    svc: ClinicalService = ClinicalService(clinic.runtime, http_app_lock(http))
    before = audit_count(clinic.runtime)
    stream = svc.ask_stream("knee PRP VAS 7", filters=None, k=None, language=None, actor="test")
    assert isinstance(next(stream), str)
    stream.close()
    assert audit_count(clinic.runtime) == before + 1
    assert clinic.runtime.store.audit_entries()[-1].action == "ask_aborted"


def http_app_lock(_: httpx.Client):  # type: ignore[no-untyped-def]
    from api.services.locks import ReadWriteLock

    return ReadWriteLock()


def test_cli_keys_and_audit(clinic: Clinic, tmp_path: Path) -> None:
    import typer

    from cli.ops import register

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    dd = str(clinic.data_dir)
    r = runner.invoke(app, ["keys", "create", "--name", "cli-user", "--role", "admin", "--data-dir", dd])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("cw_")
    from app.keys import authenticate

    info = authenticate(clinic.runtime.store, key)
    assert info is not None and info.role == "admin"
    listed = runner.invoke(app, ["keys", "list", "--data-dir", dd]).stdout
    assert info.key_id in listed and key.split("_", 2)[2] not in listed
    assert runner.invoke(app, ["keys", "revoke", info.key_id, "--data-dir", dd]).exit_code == 0
    assert authenticate(clinic.runtime.store, key) is None
    assert runner.invoke(app, ["keys", "revoke", "nope", "--data-dir", dd]).exit_code == 1
    r = runner.invoke(app, ["audit", "verify", "--data-dir", dd])
    assert r.exit_code == 0 and "intact" in r.stdout
    out = tmp_path / "audit.jsonl"
    assert runner.invoke(app, ["audit", "export", "--out", str(out), "--data-dir", dd]).exit_code == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    # The export holds every entry before it; the export itself is the entry after.
    assert len(lines) == audit_count(clinic.runtime) - 1 and lines[0]["prev_hash"] == "0" * 64
    assert all(a["hash"] == b["prev_hash"] for a, b in itertools.pairwise(lines))
    cli_actions = [(e["action"], e["actor"]) for e in lines if e["actor"] == "cli"]
    assert ("key_create", "cli") in cli_actions and ("keys_list", "cli") in cli_actions
    assert cli_actions.count(("key_revoke", "cli")) == 2  # the revoke and the attempt on a key that does not exist
    assert clinic.runtime.store.audit_entries()[-1].action == "audit_export"


def test_cli_index_and_backup_write_one_audit_entry_each_and_the_chain_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's admin actions go through app.admin, as the API's do: one entry per action, counts only."""
    import cli.index
    import cli.ops
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from cli.main import app

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("NHC: 4455\nPaciente con gonartrosis. Infiltración PRP. EVA basal 7, a los 6 meses 3.\n",
                                 encoding="utf-8")
    rt = Runtime(load_settings(data_dir=tmp_path / "data"))
    for module in (cli.index, cli.ops):  # one process, one Runtime (as each real `casewise` process has)
        monkeypatch.setattr(module, "runtime", lambda data_dir=None, **_: rt)
    runner = CliRunner()
    try:
        for args in (["index", str(notes)], ["backup", "--out", str(tmp_path / "b.tar.gz")],
                     ["keys", "create", "--name", "ops", "--role", "admin"]):
            r = runner.invoke(app, args)
            assert r.exit_code == 0, r.output
        entries = rt.store.audit_entries()
        assert [(e.actor, e.action) for e in entries] == [("cli", "index"), ("cli", "leak_scan"), ("cli", "backup"),
                                                        ("cli", "key_create")]
        assert entries[0].detail["added"] == 1 and str(notes) not in json.dumps(entries[0].detail)
        assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    finally:
        rt.close()


def test_tampering_is_detected(clinic: Clinic, http: httpx.Client, keys: Keys) -> None:
    """Runs last in this module: it repairs what it breaks."""
    from casewise.store import AuditRow

    store = clinic.runtime.store
    first = store.audit_entries()[0].seq
    with store.session() as s:
        row = s.get(AuditRow, first)
        original = row.query
        row.query = original + " (edited)"
    v = http.get("/v1/audit/verify", headers=bearer(keys.admin)).json()
    assert v["ok"] is False and v["first_bad_seq"] == first
    with store.session() as s:
        s.get(AuditRow, first).query = original
    assert http.get("/v1/audit/verify", headers=bearer(keys.admin)).json()["ok"] is True
