"""Fixtures for the API tests: one small synthetic clinic indexed once per session, one real uvicorn server on
127.0.0.1 (in a thread, sharing the session's Runtime: the embedded Qdrant allows one owner per data folder),
and keys of both roles."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from app.keys import create_key
from app.runtime import Runtime
from casewise.settings import ApiSettings, load_settings

PATIENTS = 15
SEED = 7
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Clinic:
    runtime: Runtime
    source: Path
    data_dir: Path
    case_ids: list[str]


@dataclass
class Keys:
    clinician: str
    admin: str
    clinician_id: str
    admin_id: str


@dataclass
class Server:
    url: str
    app: object


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """A 15-patient synthetic clinic, indexed once (~30-40 s on 2 cores)."""
    from indexing.pipeline import Indexer
    from synth import generate_clinic

    root = tmp_path_factory.mktemp("clinic")
    source = root / "records"
    generate_clinic(source, patients=PATIENTS, seed=SEED)
    rt = Runtime(load_settings(data_dir=root / "data"))
    Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid).run([source])
    from sqlalchemy import select

    from casewise.store import CaseRow

    with rt.store.session() as s:
        case_ids = sorted(s.scalars(select(CaseRow.case_id)))
    yield Clinic(runtime=rt, source=source, data_dir=root / "data", case_ids=case_ids)
    rt.close()


@pytest.fixture(scope="session")
def keys(clinic: Clinic) -> Keys:
    c_info, c_key = create_key(clinic.runtime.store, "dr-test", "clinician")
    a_info, a_key = create_key(clinic.runtime.store, "it-test", "admin")
    return Keys(clinician=c_key, admin=a_key, clinician_id=c_info.key_id, admin_id=a_info.key_id)


@dataclass
class Running:
    url: str
    server: object
    thread: threading.Thread


def start_server(app: object) -> Running:
    """Run uvicorn on a free 127.0.0.1 port in a daemon thread; return once it accepts connections."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return Running(url=f"http://127.0.0.1:{port}", server=server, thread=thread)


def stop_server(running: Running) -> None:
    running.server.should_exit = True  # type: ignore[attr-defined]
    running.thread.join(timeout=15)


@pytest.fixture(scope="session")
def server(clinic: Clinic, keys: Keys) -> Iterator[Server]:
    """The API over real HTTP, limits high enough that the suite itself is never rate limited."""
    app = create_app(clinic.runtime, ApiSettings(rate_per_minute=60_000, rate_burst=10_000, max_upload_mb=1))
    running = start_server(app)
    yield Server(url=running.url, app=app)
    stop_server(running)


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def audit_count(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from casewise.store import AuditRow

    with rt.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        events.append((event, "\n".join(data)))
    return events
