"""The embedder adapted to coded notes (issue 23): a tiny run on invented pairs, served through embedding.model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from casewise.embedding.factory import build_embedder, with_folder_prompts
from casewise.settings import EmbeddingSettings
from indexing.adapt_embedder import MINILM, LeakError, Pair, adapt_embedder, check_no_leak, mine_pairs
from indexing.coding.codiesp import CodedNote

# Invented texts: a clinical phrase and an unrelated-looking label the clinic's coding ties to it.
PAIRS = [
    ("knee pain after climbing stairs", "zorblat grade two"),
    ("swollen ankle since the fall", "quendril sprain code"),
    ("tennis elbow on the right arm", "varnex epicondyle"),
    ("lower back ache when lifting", "plimsor lumbar note"),
    ("shoulder stiffness in the morning", "draxil capsule case"),
    ("hip pain at night", "trombel joint record"),
    ("plantar heel pain on first steps", "gossip fascia entry"),
    ("neck pain after whiplash", "marvel cervical file"),
]


def _pairs() -> list[Pair]:
    return [Pair(a, p, (f"n{i}", f"n{i}"), "codes") for i, (a, p) in enumerate(PAIRS)]


def _cos(model_dir: str, texts_a: list[str], texts_b: list[str]) -> np.ndarray:
    emb = build_embedder(EmbeddingSettings(model=model_dir, backend="sentence-transformers"))
    return (emb.embed_queries(texts_a) * emb.embed_passages(texts_b)).sum(1)


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapted") / "minilm"
    adapt_embedder(_pairs(), out, base=MINILM, epochs=6, batch_size=4, lr=1e-4, train_layers=6)
    return out


def test_training_moves_the_paired_texts_closer(adapted: Path) -> None:
    from casewise.embedding.models import resolve_model_path

    a, b = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    before = _cos(resolve_model_path(MINILM), a, b)
    after = _cos(str(adapted), a, b)
    assert after.mean() > before.mean() + 0.05
    report = json.loads((adapted / "casewise_adapt.json").read_text())
    assert report["base"] == MINILM and report["pairs"] == len(PAIRS)


def test_the_saved_folder_is_served_through_embedding_model(adapted: Path) -> None:
    emb = build_embedder(EmbeddingSettings(model=str(adapted), backend="sentence-transformers"))
    vecs = emb.embed_passages(["dolor de rodilla", "knee pain"])
    assert emb.dim == 384 and vecs.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    # the onnx exporter accepts its pooling config (mean pooling, long-standing keys)
    assert json.loads((adapted / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True


def test_prompts_recorded_in_the_folder_become_the_prefixes(tmp_path: Path) -> None:
    (tmp_path / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}}))
    s = with_folder_prompts(EmbeddingSettings(model=str(tmp_path)))
    assert (s.query_prefix, s.passage_prefix) == ("query: ", "passage: ")
    explicit = EmbeddingSettings(model=str(tmp_path), query_prefix="q: ")
    assert with_folder_prompts(explicit).query_prefix == "q: "


def _note(i: str, codes: set[str], en: bool = True) -> CodedNote:
    texts = {"es": f"nota {i} " + "dolor articular " * 30}
    if en:
        texts["en"] = f"note {i} " + "joint pain " * 30
    return CodedNote(i, texts, diagnoses=codes)


def test_pairs_share_categories_or_translate_and_leave_the_evaluated_notes_out() -> None:
    notes = {"a": _note("a", {"m17.1", "e11.9"}), "b": _note("b", {"m17.0", "e11.65"}),
             "c": _note("c", {"m17.9", "e11.2"}), "d": _note("d", {"c50.9"}, en=False)}
    pairs = mine_pairs(notes, exclude={"c"})
    assert pairs and all("c" not in p.sources for p in pairs)
    kinds = {(p.kind, p.sources) for p in pairs}
    assert ("codes", ("a", "b")) in kinds and ("codes", ("b", "a")) in kinds
    assert ("translation", ("a", "a")) in kinds
    assert not any("d" in p.sources for p in pairs if p.kind == "codes")  # d shares no category


def test_a_pair_mined_from_an_evaluated_note_is_refused(tmp_path: Path) -> None:
    pairs = _pairs()
    with pytest.raises(LeakError, match="evaluated"):
        check_no_leak(pairs, {"n3"})
    with pytest.raises(LeakError):
        adapt_embedder(pairs, tmp_path / "never", base=MINILM, evaluated={"n0", "x"})
    assert not (tmp_path / "never").exists()
