"""Shared test data and helpers for the reasoning tests: invented, de-identified cases and local ports."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from casewise.types import (
    Case,
    Diagnosis,
    Evidence,
    EvidenceRow,
    MatchedChunk,
    Outcome,
    OutcomeSummary,
    SimilarCase,
    Treatment,
)
from reasoning.finetune.models import smollm2_gguf  # noqa: F401 - re-exported for the test modules


@dataclass
class LlamaServer:
    """A `python -m llama_cpp.server` process on 127.0.0.1 and the file its output (the access log) goes to."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def requests(self) -> int:
        """Chat requests this server has answered, from its access log."""
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")


def start_llama_server(gguf: Path, log: Path, *, alias: str = "smollm2", n_ctx: int = 4096,
                       threads: int = 1) -> LlamaServer:
    """Start a server on a free port without waiting for it (several can load side by side)."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
             "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx", str(n_ctx)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    return LlamaServer(f"http://127.0.0.1:{port}/v1", proc, log)


def wait_until_serving(server: LlamaServer, timeout_s: float = 60.0) -> None:
    """Return once the server lists its models; fail the test with its log if it exits or stays silent."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.proc.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            pytest.fail(f"llama.cpp server exited with code {server.proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"llama.cpp server did not answer on {server.url}/models within {timeout_s:g} s")
        time.sleep(0.2)


def stop_llama_server(server: LlamaServer) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@contextlib.contextmanager
def running_llama_server(gguf: Path, *, alias: str = "smollm2", n_ctx: int = 4096, threads: int = 1,
                         start_timeout_s: float = 60.0) -> Iterator[str]:
    """Run `python -m llama_cpp.server` on a free 127.0.0.1 port; yield its base URL (…/v1); stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="llama_server_") as folder:
        server = start_llama_server(gguf, Path(folder) / "server.log", alias=alias, n_ctx=n_ctx, threads=threads)
        try:
            wait_until_serving(server, start_timeout_s)
            yield server.url
        finally:
            stop_llama_server(server)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port_url() -> str:
    """A local URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


PRP_ID = "PT-3F9A0C12DE"
HA_ID = "PT-7B21E4A9C0"
CS_ID = "PT-C4D5E6F708"
RETRIEVED = {PRP_ID, HA_ID, CS_ID}


def make_evidence(notes: dict[str, str] | None = None, *, too_little: bool = False) -> Evidence:
    """Three invented knee-osteoarthritis cases (PRP, hyaluronic acid, corticosteroid) and their evidence table.

    `notes` replaces a case's matched note text, e.g. to plant a prompt injection.
    """
    notes = notes or {}
    default_notes = {
        PRP_ID: "Three PRP injections two weeks apart. At 6 months the patient walks 5 km without pain; VAS fell from 7 to 3.",
        HA_ID: "Single hyaluronic acid injection. Little change at 6 months, persistent pain, referred to surgery.",
        CS_ID: "Triamcinolone injection gave relief for 6 weeks; pain returned by 3 months.",
    }
    specs: list[tuple[str, Literal["F", "M"], str, Treatment, list[tuple[int, int]], float]] = [
        (PRP_ID, "F", "50-59", Treatment(name="prp", label="PRP", date=dt.date(2024, 3, 1), sessions=3),
         [(7, 0), (3, 6)], 0.82),
        (HA_ID, "M", "60-69", Treatment(name="hyaluronic_acid", label="hyaluronic acid", sessions=1),
         [(8, 0), (7, 6)], 0.74),
        (CS_ID, "F", "60-69", Treatment(name="corticosteroid", label="triamcinolone", dose="40 mg"),
         [(7, 0), (6, 3)], 0.69),
    ]
    cases = []
    for cid, sex, age, tx, vas, sim in specs:
        case = Case(
            case_id=cid, sex=sex, age_band=age, language="en",
            diagnoses=[Diagnosis(name="knee_oa", label="knee osteoarthritis", severity="KL 3")],
            treatments=[tx],
            outcomes=[Outcome(measure="VAS", value=v, months=m, treatment=tx.name) for v, m in vas],
            summary=f"Knee osteoarthritis treated with {tx.label}.",
        )
        chunk = MatchedChunk(chunk_id=f"{cid}-c0", doc_id=f"{cid}-d0", text=notes.get(cid, default_notes[cid]), score=sim)
        cases.append(SimilarCase(case_id=cid, score=sim, similarity=sim, case=case, chunks=[chunk]))
    table = [
        EvidenceRow(treatment="prp", n_cases=1, follow_up_months=6, case_ids=[PRP_ID],
                    outcomes=[OutcomeSummary(measure="VAS", n=1, median_change=-4, months=6, improved_share=1.0)]),
        EvidenceRow(treatment="hyaluronic_acid", n_cases=1, follow_up_months=6, case_ids=[HA_ID],
                    outcomes=[OutcomeSummary(measure="VAS", n=1, median_change=-1, months=6, improved_share=0.0)]),
        EvidenceRow(treatment="corticosteroid", n_cases=1, follow_up_months=3, case_ids=[CS_ID],
                    outcomes=[OutcomeSummary(measure="VAS", n=1, median_change=-1, months=3, improved_share=0.0)]),
    ]
    if too_little:
        return Evidence(query="knee osteoarthritis, 55 F", cases=cases[:1], table=table[:1], too_little_evidence=True,
                        note="1 similar case above the similarity floor")
    return Evidence(query="knee osteoarthritis, 55 F", cases=cases, table=table)
