"""`casewise serve` as a real subprocess (so it can be killed with SIGKILL), its log in a file, and the checks
that a data folder is consistent after a crash: manifest vs index, cases vs summaries, the audit chain."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 300.0
# Root logging at INFO (production `serve` keeps only warnings): the log scans then see more than an operator would.
LAUNCH = ("import logging, sys; logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s');"
          "sys.argv = ['casewise', *sys.argv[1:]]; from cli.main import main; main()")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CASEWISE_CONFIG": "/nonexistent/casewise.toml", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "CASEWISE_DATA_DIR": str(data_dir),
            # polling a job must never be rate limited in a test
            "CASEWISE_API__RATE_PER_MINUTE": "60000", "CASEWISE_API__RATE_BURST": "10000", **extra}


def cli(data_dir: Path, *args: str, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `casewise ARGS` against `data_dir`; output captured."""
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], env=env(data_dir, **extra), capture_output=True, check=False,
                          text=True, timeout=timeout)


def admin_key(data_dir: Path) -> str:
    done = cli(data_dir, "keys", "create", "--name", "ops", "--role", "admin", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, key: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)  # type: ignore[arg-type]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """A clean shutdown (SIGINT, as Ctrl-C or systemd would send): the index and store are closed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def serve(data_dir: Path, log: Path, *, tls: tuple[Path, Path] | None = None, verify: object = False,
          **extra: str) -> Served:
    """Start `casewise serve` on a free port; return once /healthz answers (the models are loaded by then)."""
    port = free_port()
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    if tls:
        args += ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])]
    fh = log.open("ab")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], env=env(data_dir, **extra), stdout=fh,
                            stderr=subprocess.STDOUT)
    fh.close()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"casewise serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2, verify=verify).status_code == 200:  # type: ignore[arg-type]
                return Served(proc, url, log)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"casewise serve did not answer within {START_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def wait_job(client: httpx.Client, job_id: str, timeout: float = 600) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/index/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout:g} s"
        time.sleep(0.25)


def consistency_problems(data_dir: Path, expected_files: set[str]) -> list[str]:
    """Everything wrong with a data folder (opened offline, no server running); [] when it is consistent.

    Manifest: one row per source file, each indexed or quarantined, no duplicates. Index: every manifest chunk id
    present; no point whose document is not in the manifest; one summary per stored case. Audit chain intact.
    """
    from app.runtime import Runtime
    from casewise.settings import load_settings

    problems: list[str] = []
    rt = Runtime(load_settings(data_dir=data_dir))
    try:
        rows = rt.store.documents()
        paths = Counter(r.source_path for r in rows)
        problems += [f"manifest lists {p} {n} times" for p, n in paths.items() if n > 1]
        problems += [f"lost: {Path(p).name} is not in the manifest" for p in sorted(expected_files - set(paths))]
        problems += [f"manifest lists {Path(p).name}, which is not a source file" for p in set(paths) - expected_files]
        problems += [f"{Path(r.source_path).name} is {r.status}" for r in rows if r.status not in ("indexed", "quarantined")]
        points = dict(rt.index.all_payloads())
        manifest_chunks = {str(c) for r in rows for c in (r.chunk_ids or [])}
        missing = manifest_chunks - {str(p) for p in points}
        if missing:
            problems.append(f"{len(missing)} manifest chunk ids are missing from the index")
        docs = {r.doc_id for r in rows}
        cases = set(rt.store.case_fingerprints())
        orphans = [pid for pid, pl in points.items()
                   if pl.get("doc_id") not in docs and pl.get("doc_id") not in {f"CASE:{c}" for c in cases}]
        if orphans:
            problems.append(f"{len(orphans)} index points belong to no manifest document or case")
        summaries = Counter(pl.get("doc_id") for pl in points.values() if str(pl.get("doc_id", "")).startswith("CASE:"))
        problems += [f"case summary {d} stored {n} times" for d, n in summaries.items() if n > 1]
        unindexed = [pid for pid in points if str(pid) not in manifest_chunks
                     and not str(points[pid].get("doc_id", "")).startswith("CASE:")]
        if unindexed:
            problems.append(f"{len(unindexed)} document points are not listed in the manifest (duplicates)")
        ok, n, bad = rt.store.verify_audit()
        if not ok:
            problems.append(f"audit chain broken at entry {bad} of {n}")
    finally:
        rt.close()
    return problems
