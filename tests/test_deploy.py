"""Deployment files: valid YAML, every CASEWISE_* variable they set is a real setting and loads, and the pieces
refer to each other consistently (the model Casewise asks for is the LoRA adapter vLLM serves, the CronJob's config
exists)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from casewise.settings import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "k8s"
# Read by the CLI itself, not by Settings.
NOT_SETTINGS = {"CASEWISE_CONFIG", "CASEWISE_API_KEY"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _compose_env() -> dict[str, str]:
    return {k: str(v) for k, v in _docs(COMPOSE)[0]["services"]["casewise"]["environment"].items()}


def _k8s_env() -> dict[str, str]:
    """Every CASEWISE_* a Casewise pod gets: the ConfigMap plus the containers' own env (secrets get a placeholder)."""
    env: dict[str, str] = {}
    for doc in _docs(K8S / "casewise.yaml"):
        if doc["kind"] == "ConfigMap":
            env.update({k: str(v) for k, v in doc["data"].items()})
    for doc in _docs(K8S / "casewise.yaml"):
        for container in _containers(doc):
            for item in container.get("env", []):
                env[item["name"]] = str(item.get("value", f"secret-{item['name'].lower()}"))
    return env


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec.get("template", {}).get("spec", {}).get("containers", []))


def _field_exists(var: str) -> bool:
    """CASEWISE_LLM__BASE_URLS -> Settings.llm.base_urls, following nested models."""
    model: type[BaseModel] = Settings
    parts = var.removeprefix("CASEWISE_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            ann = field.annotation
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                return False
            model = ann
    return True


def _placeholders(env: dict[str, str]) -> dict[str, str]:
    """Compose's ${VAR:?...} becomes a stand-in value; the database URL stays a PostgreSQL URL."""
    return {k: re.sub(r"\$\{[^}]+\}", "stand-in", v) for k, v in env.items()}


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yml")) + sorted(DEPLOY.rglob("*.yaml"))
    assert {f.name for f in files} >= {"docker-compose.yml", "qdrant-values.yaml", "casewise.yaml", "vllm.yaml"}
    for f in files:
        assert _docs(f), f"{f} is empty"


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_casewise_variables_are_real_settings_and_load(source: str, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    env = _compose_env() if source == "compose" else _k8s_env()
    ours = {k: v for k, v in env.items() if k.startswith("CASEWISE_") and k not in NOT_SETTINGS}
    assert len(ours) >= 10
    unknown = sorted(k for k in ours if not _field_exists(k))
    assert not unknown, f"not a setting: {unknown}"

    for key in [k for k in os.environ if k.startswith("CASEWISE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CASEWISE_CONFIG", str(tmp_path / "none.toml"))
    for key, value in _placeholders(ours).items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.environment == "production"
    assert settings.index.backend == "server" and settings.index.url == "http://qdrant:6333"
    assert settings.llm.backend == "openai" and settings.llm.endpoints
    if source == "k8s":
        assert len(settings.llm.endpoints) == 2  # two vLLM replicas, balanced and failed over by the client
        assert (settings.index.shard_number, settings.index.replication_factor) == (6, 2)
        assert settings.index.quantization == "int8"
    else:
        assert settings.db_url.startswith("postgresql+psycopg://")


def _lora_names(args: list[str]) -> set[str]:
    return {m.split("=", 1)[0] for a in args if a.startswith("--lora-modules=") for m in a.split("=", 1)[1:]}


def test_the_model_casewise_asks_for_is_the_lora_adapter_vllm_serves() -> None:
    compose = _docs(COMPOSE)[0]["services"]
    assert _compose_env()["CASEWISE_LLM__MODEL"] in _lora_names(compose["vllm"]["command"])
    vllm = next(d for d in _docs(K8S / "vllm.yaml") if d["kind"] == "StatefulSet")
    args = vllm["spec"]["template"]["spec"]["containers"][0]["args"]
    assert _k8s_env()["CASEWISE_LLM__MODEL"] in _lora_names(args)
    # every URL Casewise lists is a pod of that StatefulSet
    pods = {f"http://{vllm['metadata']['name']}-{i}.{vllm['spec']['serviceName']}:8000/v1"
            for i in range(vllm["spec"]["replicas"])}
    assert set(_k8s_env()["CASEWISE_LLM__BASE_URLS"].split(",")) == pods


def test_cronjob_and_deployment_use_the_same_config_and_volumes() -> None:
    docs = {d["kind"]: d for d in _docs(K8S / "casewise.yaml")}
    config = docs["ConfigMap"]["metadata"]["name"]
    for kind in ("Deployment", "CronJob"):
        (container,) = _containers(docs[kind])
        assert {"configMapRef": {"name": config}} in container["envFrom"]
    job = docs["CronJob"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert _containers(job)[0]["command"][:2] == ["casewise", "reindex"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
              ["volumes"]}
    assert claims == {v["persistentVolumeClaim"]["claimName"] for v in docs["Deployment"]["spec"]["template"]["spec"]
                      ["volumes"]}
