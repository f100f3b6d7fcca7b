"""A code's confidence from all its support in the note: the reranker learned while calibrating, and the model file
that carries it."""

from __future__ import annotations

import random
from pathlib import Path

from indexing.coding.coder import LexiconCoder
from indexing.coding.codiesp import read_folder
from indexing.coding.learn import learn_model
from indexing.coding.model import CoderModel
from indexing.coding.rerank import Support, features, fit

FIXTURE = Path(__file__).parent / "fixtures" / "codiesp_mini"


def _row(conf: float, terms: int, mentions: int) -> list[float]:
    supports = [Support(conf, 10, "span", 1) for _ in range(terms)]
    return features(supports, mentions=mentions, code_notes=5, notes=100, rivals=0)


def test_a_code_supported_by_more_terms_and_mentions_is_more_likely_once_learned() -> None:
    rng = random.Random(3)
    rows, labels = [], []
    for _ in range(400):
        terms, mentions = rng.randint(1, 3), rng.randint(1, 4)
        rows.append(_row(0.3, terms, mentions))
        labels.append(rng.random() < 0.15 * terms + 0.1 * mentions)  # invented: more support, more often right
    reranker = fit(rows, labels)
    assert reranker is not None
    weak, strong = reranker.score(_row(0.3, 1, 1)), reranker.score(_row(0.3, 3, 4))
    assert 0 < weak < strong < 1


def test_nothing_is_learned_from_candidates_all_right_or_all_wrong() -> None:
    assert fit([_row(0.5, 1, 1)] * 5, [True] * 5) is None
    assert fit([], []) is None


def test_the_learned_confidences_survive_saving_and_loading(tmp_path: Path) -> None:
    notes = list(read_folder(FIXTURE).values())
    model = learn_model(notes, languages=("es",), use_terminology=False)
    again = CoderModel.load(model.save(tmp_path / "m.json.gz"))
    text = "Paciente con hipertensión arterial y neumonía; se solicita radiografía de tórax."
    before = [(c.code, c.confidence) for c in LexiconCoder(model).candidates(text, language="es")]
    after = [(c.code, c.confidence) for c in LexiconCoder(again).candidates(text, language="es")]
    assert before and before == after
    assert again.languages["es"].notes == len(notes)
