"""Qdrant server and cluster settings reach the one client factory and every new collection.

No Qdrant server runs here. The tests check (1) the arguments the factory builds from Settings, (2) the JSON that
qdrant-client really sends to a server, received by a local HTTP listener that records it, and (3) that local mode
still builds and searches a collection with the same layout (it ignores sharding and quantization).
"""

from __future__ import annotations

import http.server
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import certifi
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from casewise.errors import ConfigError
from casewise.settings import IndexSettings, load_settings
from casewise.vectors.qdrant import QdrantIndex, client_kwargs, collection_kwargs, make_client
from tests.local_http import serving

CLUSTER_ENV = {
    "CASEWISE_INDEX__URL": "https://qdrant.clinic.internal:6333",
    "CASEWISE_INDEX__API_KEY": "qdrant-test-key",
    "CASEWISE_INDEX__SHARD_NUMBER": "6",
    "CASEWISE_INDEX__REPLICATION_FACTOR": "2",
    "CASEWISE_INDEX__WRITE_CONSISTENCY_FACTOR": "2",
    "CASEWISE_INDEX__ON_DISK": "true",
    "CASEWISE_INDEX__QUANTIZATION": "int8",
    "CASEWISE_INDEX__QUANTIZATION_QUANTILE": "0.98",
}


@pytest.fixture()
def cluster_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CLUSTER_ENV.items():
        monkeypatch.setenv(key, value)


def test_cluster_layout_from_env_reaches_create_collection_arguments(cluster_env: None) -> None:
    idx = load_settings().index
    assert idx.backend == "server"
    kw = collection_kwargs(idx, 384)
    assert (kw["shard_number"], kw["replication_factor"], kw["write_consistency_factor"]) == (6, 2, 2)
    dense = kw["vectors_config"]["dense"]
    assert dense.size == 384 and dense.on_disk is True and dense.distance == models.Distance.COSINE
    scalar = kw["quantization_config"].scalar
    assert scalar.type == models.ScalarType.INT8 and scalar.quantile == 0.98 and scalar.always_ram is True


def test_default_layout_leaves_server_defaults_alone() -> None:
    kw = collection_kwargs(IndexSettings(), 384)
    assert set(kw) == {"vectors_config", "sparse_vectors_config"}
    assert kw["vectors_config"]["dense"].on_disk is None


def test_https_url_and_api_key_reach_the_client_arguments(cluster_env: None, tmp_path: Path) -> None:
    idx = load_settings().index
    kw = client_kwargs(idx)
    assert kw["url"] == "https://qdrant.clinic.internal:6333" and kw["https"] is True
    assert kw["api_key"] == "qdrant-test-key" and "verify" not in kw  # system CAs, verified
    assert client_kwargs(idx.model_copy(update={"tls_verify": False}))["verify"] is False

    with pytest.raises(ConfigError, match="index.tls_ca_file"):
        client_kwargs(idx.model_copy(update={"tls_ca_file": tmp_path / "missing-ca.pem"}))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(certifi.where()).read_bytes())  # a real CA bundle stands in for the clinic's private CA
    assert isinstance(client_kwargs(idx.model_copy(update={"tls_ca_file": ca}))["verify"], ssl.SSLContext)


def test_write_consistency_above_replication_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_INDEX__URL", "http://qdrant:6333")
    monkeypatch.setenv("CASEWISE_INDEX__WRITE_CONSISTENCY_FACTOR", "3")
    monkeypatch.setenv("CASEWISE_INDEX__REPLICATION_FACTOR", "2")
    with pytest.raises(ConfigError, match=r"index.write_consistency_factor=3 exceeds index.replication_factor=2"):
        load_settings()


class _RecordingQdrant(http.server.BaseHTTPRequestHandler):
    """Answers Qdrant's REST calls for creating a collection and records what the client sent."""

    received: ClassVar[list[tuple[str, str, dict[str, Any], dict[str, str]]]] = []

    def _answer(self, result: Any) -> None:
        body = json.dumps({"result": result, "status": "ok", "time": 0.0}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        payload = json.loads(self.rfile.read(n) or b"{}")
        type(self).received.append((self.command, self.path, payload, dict(self.headers)))

    def do_GET(self) -> None:
        self._record()
        if self.path == "/":  # the client's version probe
            body = json.dumps({"title": "qdrant", "version": "1.17.0"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._answer({"exists": False})

    def do_PUT(self) -> None:
        self._record()
        self._answer(True if self.path.count("/") == 2 else {"operation_id": 1, "status": "completed"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def recording_qdrant() -> Iterator[tuple[str, type[_RecordingQdrant]]]:
    handler = type("Handler", (_RecordingQdrant,), {"received": []})
    with serving(handler) as url:
        yield url, handler


def test_factory_sends_the_cluster_layout_and_api_key_to_the_server(
    recording_qdrant: tuple[str, type[_RecordingQdrant]], tmp_path: Path
) -> None:
    url, handler = recording_qdrant
    settings = load_settings(data_dir=tmp_path, index={
        "url": url, "api_key": "qdrant-test-key", "shard_number": 4, "replication_factor": 2,
        "write_consistency_factor": 1, "on_disk": True, "quantization": "int8"})
    index = QdrantIndex(make_client(settings), "casewise_chunks")
    index.create_physical("casewise_chunks_v1", 384)

    creates = [(p, body, h) for m, p, body, h in handler.received
               if m == "PUT" and p.split("?")[0] == "/collections/casewise_chunks_v1"]
    assert len(creates) == 1, [(m, p) for m, p, _, _ in handler.received]
    _, body, headers = creates[0]
    assert (body["shard_number"], body["replication_factor"], body["write_consistency_factor"]) == (4, 2, 1)
    assert body["vectors"]["dense"] == {"size": 384, "distance": "Cosine", "on_disk": True}
    assert body["quantization_config"]["scalar"]["type"] == "int8"
    assert headers.get("api-key") == "qdrant-test-key"
    # payload indexes for the filters follow the collection
    assert any(p.startswith("/collections/casewise_chunks_v1/index") for m, p, _, _ in handler.received if m == "PUT")
    # a rebuild's collection (bound to a new physical name) gets the same layout
    index.bound("casewise_chunks_v2").create_physical("casewise_chunks_v2", 384)
    second = [b for m, p, b, _ in handler.received if m == "PUT" and p.split("?")[0] == "/collections/casewise_chunks_v2"]
    assert second and second[0]["shard_number"] == 4


def test_local_mode_builds_and_searches_with_a_cluster_layout() -> None:
    layout = IndexSettings(shard_number=3, replication_factor=2, write_consistency_factor=2, on_disk=True,
                           quantization="int8")
    index = QdrantIndex(QdrantClient(":memory:"), "chunks", layout)
    index.ensure(4)
    vecs = np.eye(4, dtype=np.float32)
    points = [models.PointStruct(id=i, vector={"dense": v.tolist(), "sparse": models.SparseVector(indices=[i], values=[1.0])},
                                 payload={"case_id": f"C{i}"}) for i, v in enumerate(vecs)]
    index.client.upsert("chunks", points=points, wait=True)
    hits = index.dense_search(vecs[2], flt=None, limit=1)
    assert [h.payload["case_id"] for h in hits] == ["C2"]

