"""The README's "Using it" commands, run in the order written, as a newcomer would after `make demo`: the example
paths become temporary ones (a small generated clinic stands in for /srv/records), every other word stays.
The two commands on public sets (MEDDOCAN, CodiEsp) are run by hand for the issue notes, not here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_SETS = ("--meddocan", "--codiesp")


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.split("   #", 1)[0].strip() for line in block.strip().splitlines()]
    return [shlex.split(line) for line in lines if line]


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    out = tmp_path_factory.mktemp("records")
    generate_clinic(out, patients=12, seed=23)
    return out


def test_the_readme_commands_work_in_the_order_shown(records: Path, tmp_path: Path) -> None:
    commands = readme_commands()
    assert commands and all(c[0] == ".venv/bin/casewise" for c in commands), commands
    env = {**os.environ, "CASEWISE_DATA_DIR": str(tmp_path / "casewise"), "COLUMNS": "200"}
    backups = tmp_path / "backups"
    case_id = ""
    ran: list[str] = []

    def place(word: str) -> str:
        """The README's example paths and ids -> this run's."""
        if "casewise-backup-…" in word:
            return str(next(backups.glob("casewise-backup-*.tar.gz")))
        for example, here in (("/srv/records", str(records)), ("/backups/", f"{backups}/"),
                              ("/var/lib/casewise", str(tmp_path / "restored")), ("/tmp/", f"{tmp_path}/")):
            if word.startswith(example):
                return here + word[len(example):]
        if word == "notes/":
            return str(records / "notes")
        if re.fullmatch(r"PT-[0-9A-Z]{10}", word):
            return case_id
        return word

    for command in commands:
        args = [place(w) for w in command[1:]]
        if any(a in PUBLIC_SETS for a in args):
            continue
        if args[0] == "serve":
            _serve_answers_health(args, env)
            ran.append("serve")
            continue
        res = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=900, check=False)
        assert res.returncode == 0, (args, res.stdout[-1500:], res.stderr[-1500:])
        out = res.stdout
        expect = {"index": "indexed:", "reindex": "indexed:", "backup": "backup written", "restore": "restored",
                  "ask": "Entendido como:", "similar": "PT-", "status": "documents:", "deid": "de-identified file",
                  "synth": "wrote a synthetic clinic", "keys": "cw_"}[args[0]]
        if "--json" in args:
            expect = '"citations"'  # "citations + evidence table as JSON"
        assert expect in out, (args, out[-1500:])
        if args[0] == "index" and not case_id:
            listing = subprocess.run([sys.executable, "-m", "cli.main", "similar", "--describe", "rodilla", "--json"],
                                     capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=True)
            case_id = re.findall(r'"case_id": "(PT-[0-9A-Z]+)"', listing.stdout)[0]
        if args[0] == "ask" and "--json" not in args:
            assert "Casos citados:" in out and "Cited cases" not in out, "the Spanish question gets a Spanish answer"
        if args[0] == "similar" and "--case" in args:  # other patients like this one, not the case itself
            assert re.search(r"PT-[0-9A-Z]{10}", out) and case_id not in out
        ran.append(args[0])
    assert ran == ["index", "index", "reindex", "backup", "restore", "ask", "ask", "similar", "similar", "status",
                   "deid", "synth", "serve", "keys"], ran


def _serve_answers_health(args: list[str], env: dict[str, str]) -> None:
    """`casewise serve --port 8000`: on a free port here; it answers /healthz, then stops."""
    from tests.api.conftest import free_port

    port = str(free_port())
    args = [port if a == "8000" else a for a in args]
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "casewise serve did not start"
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
