"""The CodiEsp retrieval evaluation on a tiny hand-made folder where every number can be checked by hand."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from eval import retrieval_eval as ev
from tests.codiesp_folder import write_codiesp

CASES = {
    # id: (codes, Spanish text, English text)
    "A": (["J45.9", "I10"], "Mujer con asma bronquial e hipertension arterial, disnea y sibilancias nocturnas.",
          "Woman with bronchial asthma and arterial hypertension, dyspnoea and nocturnal wheezing."),
    "B": (["J45.0", "I10"], "Varon con asma bronquial alergica e hipertension, tos y sibilancias.",
          "Man with allergic bronchial asthma and hypertension, cough and wheezing."),
    "C": (["J45.1", "E11.9"], "Paciente con asma bronquial y diabetes mellitus tipo 2, sibilancias leves.",
          "Patient with bronchial asthma and type 2 diabetes mellitus, mild wheezing."),
    "D": (["K35.8"], "Dolor abdominal en fosa iliaca derecha por apendicitis aguda; apendicectomia urgente.",
          "Right iliac fossa abdominal pain from acute appendicitis; urgent appendectomy."),
    "E": (["K35.2", "K80.0"], "Apendicitis aguda perforada y colelitiasis, dolor abdominal intenso.",
          "Perforated acute appendicitis and cholelithiasis, severe abdominal pain."),
}


@pytest.fixture()
def codiesp(tmp_path: Path) -> Path:
    (tmp_path / "text_files").mkdir()
    (tmp_path / "text_files_en").mkdir()
    lines = []
    for cid, (codes, es, en) in CASES.items():
        (tmp_path / "text_files" / f"{cid}.txt").write_text(es, encoding="utf-8")
        (tmp_path / "text_files_en" / f"{cid}.txt").write_text(en, encoding="utf-8")
        lines += [f"{cid}\t{c.lower()}" for c in codes]
    (tmp_path / "trainD.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


class HashEmbedder:
    """Bag of words hashed into 64 dimensions: deterministic, instant, good enough to rank these texts."""

    name = "hash-bow"
    dim = 64
    identity = "hash-bow"

    def _enc(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._enc(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._enc(texts)


def test_relevance_is_jaccard_of_three_character_categories(codiesp: Path) -> None:
    corpus = ev.load_codiesp(codiesp, "es")
    assert corpus.categories["A"] == {"J45", "I10"}
    assert corpus.relevant["A"] == {"B": 1.0, "C": pytest.approx(1 / 3)}
    assert set(corpus.relevant["D"]) == {"E"} and corpus.relevant["D"]["E"] == 0.5
    assert "A" not in corpus.relevant["A"], "a case is never its own neighbour"
    assert corpus.graded["C"] == {"A": pytest.approx(1 / 3), "B": pytest.approx(1 / 3)}


def test_metrics_by_hand() -> None:
    rel = {"B": 1.0, "C": 1.0}
    ranking = ["D", "B", "E", "C"]
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ev.ndcg(ranking, rel) == pytest.approx(expected)  # 0.651
    assert ev.recall(ranking, rel) == 1.0 and ev.recall(ranking[:2], rel) == 0.5
    assert ev.reciprocal_rank(ranking, rel) == 0.5
    graded = {"B": 1.0, "C": 1 / 3}
    assert ev.ndcg(["C", "B"], graded) == pytest.approx((1 / 3 + 1 / math.log2(3)) / (1 + (1 / 3) / math.log2(3)))
    assert ev.rrf(["x", "y"], ["y", "z"])[0] == "y"


def test_bm25_ranks_the_lexically_similar_cases_first(codiesp: Path) -> None:
    res = ev.evaluate(ev.load_codiesp(codiesp, "es"), None, ["bm25"])["bm25"]
    assert res["n_queries"] == 5 and res["n_graded_queries"] == 5
    assert res["ndcg@10"] == pytest.approx(1.0) and res["recall@10"] == 1.0 and res["mrr"] == 1.0
    assert res["ndcg@10_se"] == pytest.approx(0.0)


def test_every_method_runs_and_scores_in_range(codiesp: Path) -> None:
    res = ev.evaluate(ev.load_codiesp(codiesp, "en-es"), HashEmbedder(), ev.METHODS)
    assert set(res) == set(ev.METHODS)
    for method, r in res.items():
        for key in ("ndcg@10", "recall@10", "mrr", "graded_ndcg@10"):
            assert 0.0 <= r[key] <= 1.0, (method, key)
    # LlamaIndex's in-memory index over the same chunks and vectors ranks exactly like dense search.
    assert res["llamaindex"]["ndcg@10"] == pytest.approx(res["dense"]["ndcg@10"])


def test_an_ensemble_is_also_scored_model_by_model(codiesp: Path, tmp_path: Path) -> None:
    """With two models in one vector, plain search with each model alone is reported as a baseline too."""
    from casewise.embedding.ensemble import EnsembleEmbedder

    class Other(HashEmbedder):
        name = "bundled:other"

    ens = ev.cached(EnsembleEmbedder("bundled:pair", [(HashEmbedder(), 1.0), (Other(), 3.0)]), tmp_path)
    assert isinstance(ens, EnsembleEmbedder) and all(isinstance(e, ev.CachedEmbedder) for e, _ in ens.parts)
    res = ev.evaluate(ev.load_codiesp(codiesp, "es"), ens, ["bm25", "dense", "casewise"])
    assert {"dense[hash-bow]", "dense[other]", "dense", "casewise"} <= set(res)
    # the two parts are the same model here, so the ensemble ranks exactly like either part
    assert res["dense"]["ndcg@10"] == pytest.approx(res["dense[hash-bow]"]["ndcg@10"])
    text = ev._format("es", ens.name, res)
    assert "dense[other]" in text and "casewise against the best other method" in text


def test_main_prints_json(codiesp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.main(["--codiesp", str(codiesp), "--lang", "en", "--methods", "bm25", "--json", "--limit", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cases"] == 4 and out["lang"] == "en" and "bm25" in out["results"]


def test_missing_folder_says_what_layout_is_expected(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="text_files"):
        ev.load_codiesp(tmp_path, "es")


# -- predicted codes, channels and folds (issue 23) ---------------------------------------------------------------
# Invented coded notes: 'zarpitis' (x99.9) is a made-up disease only the notes that record it can teach a coder.
PHRASES = {"j45.9": "asma bronquial", "k35.8": "apendicitis aguda", "x99.9": "zarpitis cronica"}
CODED = {f"N{i:02d}": ("x99.9" if i % 3 == 0 else "j45.9" if i % 3 == 1 else "k35.8") for i in range(12)}


@pytest.fixture()
def coded_folder(tmp_path: Path) -> Path:
    notes = {nid: f"Paciente de {40 + int(nid[1:])} años con {PHRASES[code]} desde hace meses; se pauta tratamiento."
             for nid, code in CODED.items()}
    english = {nid: f"Patient with {code} for months." for nid, code in CODED.items()}
    return write_codiesp(tmp_path, notes, [(nid, "DIAGNOSTICO", code, PHRASES[code]) for nid, code in CODED.items()],
                         english=english)


def test_folds_are_deterministic_by_document_id_and_cover_every_case(coded_folder: Path) -> None:
    corpus = ev.load_codiesp(coded_folder, "es")
    parts = ev.split_folds(corpus, 3)
    ids = [sorted(p.queries) for p in parts]
    assert sorted(i for fold in ids for i in fold) == sorted(CODED), "every case in exactly one fold"
    assert ids == [sorted(p.queries) for p in ev.split_folds(corpus, 3)], "same split every run"
    for k, part in enumerate(parts):
        assert all(ev.fold_of(q, 3) == k for q in part.queries)
        assert {c for c, _ in part.chunks} == set(part.queries), "a fold's corpus is its own cases only"
        assert all(set(r) <= set(part.queries) for r in part.relevant.values())


def test_a_fold_coder_never_saw_its_fold_and_so_cannot_predict_what_only_the_fold_teaches(coded_folder: Path) -> None:
    corpus = ev.load_codiesp(coded_folder, "es")
    full, _ = ev.learn_coder(coded_folder, "es")
    zarpitis = [q for q, c in CODED.items() if c == "x99.9"]
    assert all(any(c.code == "x99.9" for c in full.code(corpus.queries[q], language="es")) for q in zarpitis), \
        "sanity: a coder that learned from these notes predicts the invented code"
    # every note that teaches x99.9 left out: the held-out coder cannot know it
    coder, seen = ev.learn_coder(coded_folder, "es", exclude=frozenset(zarpitis))
    assert seen == frozenset(CODED) - set(zarpitis)
    coded = ev.predict_codes(ev._subset(corpus, zarpitis), coder, seen, "es")
    assert not any(c.code.startswith("x99") for q in zarpitis for c in coded.queries[q] + coded.cases[q])
    for k, part in enumerate(ev.split_folds(corpus, 3)):
        _, seen_k = ev.learn_coder(coded_folder, "es", exclude=frozenset(part.queries))
        assert not seen_k & set(part.queries), f"fold {k}'s coder learned from fold {k}"
        assert seen_k | set(part.queries) == set(CODED)


def test_a_coder_that_saw_the_evaluated_notes_is_refused(coded_folder: Path) -> None:
    corpus = ev.load_codiesp(coded_folder, "es")
    coder, seen = ev.learn_coder(coded_folder, "es")
    with pytest.raises(ValueError, match="learned from 12 evaluated notes"):
        ev.predict_codes(corpus, coder, seen, "es")


def test_main_with_folds_learns_each_coder_without_its_fold(coded_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[frozenset[str], frozenset[str]]] = []
    real = ev.predict_codes

    def spy(part: ev.Corpus, coder: object, seen: frozenset[str], lang: str) -> ev.Coded:
        calls.append((frozenset(part.queries), seen))
        return real(part, coder, seen, lang)

    monkeypatch.setattr(ev, "predict_codes", spy)
    assert ev.main(["--codiesp", str(coded_folder), "--folds", "3", "--methods", "bm25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(calls) == 3 and all(not (fold & seen) for fold, seen in calls)
    assert "sha1(doc id)" in out["protocol"]
    res = out["results"]
    assert {"bm25", "casewise[lexical]", "casewise[concept]"} <= set(res)
    parts = ev.split_folds(ev.load_codiesp(coded_folder), 3)
    assert res["casewise[concept]"]["n_queries"] == sum(1 for p in parts for q in p.queries if p.relevant[q]), \
        "pooled over folds: each fold's queries with a relevant case in that fold"


def test_channels_fused_and_paired_difference_on_predicted_codes(coded_folder: Path) -> None:
    corpus = ev.load_codiesp(coded_folder, "es")
    pairs = []
    for part in ev.split_folds(corpus, 2):
        coder, seen = ev.learn_coder(coded_folder, "es", exclude=frozenset(part.queries))
        pairs.append((part, ev.predict_codes(part, coder, seen, "es")))
    res = ev.evaluate_coded(pairs, HashEmbedder(), ev.METHODS)
    for m in (*ev.CHANNELS, "casewise", "casewise@1", "casewise@cv", "bm25", "dense", "llamaindex", "rrf"):
        assert 0.0 <= res[m]["ndcg@10"] <= 1.0 and res[m]["ndcg@10_se"] >= 0.0, m
    assert res["casewise[dense]"] == res["dense"] and res["casewise[lexical]"] == res["bm25"]
    diff = res["casewise"]["minus_best_channel"]
    best = diff["channel"]
    assert best in ev.CHANNELS and res[best]["ndcg@10"] == max(res[c]["ndcg@10"] for c in ev.CHANNELS)
    assert diff["ndcg@10"] == pytest.approx(res["casewise"]["ndcg@10"] - res[best]["ndcg@10"])
    assert len(res["casewise@cv"]["weights_chosen"]) == 2
    text = ev._format("es", "hash-bow", res)
    assert "minus its best single channel" in text and "casewise[concept]" in text


def test_train_learns_on_another_folder_and_refuses_a_shared_note(coded_folder: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    held_out = tmp_path / "held_out"
    moved = sorted(CODED)[:6]
    for sub in ("text_files", "text_files_en"):
        (held_out / sub).mkdir(parents=True)
        for nid in moved:  # half the notes move to another folder (both languages), with their codes
            shutil.move(str(coded_folder / sub / f"{nid}.txt"), held_out / sub / f"{nid}.txt")
    rows = (coded_folder / "trainD.tsv").read_text(encoding="utf-8").splitlines()
    (held_out / "devD.tsv").write_text("\n".join(r for r in rows if r.split("\t")[0] in moved) + "\n", encoding="utf-8")
    assert ev.main(["--codiesp", str(held_out), "--train", str(coded_folder), "--methods", "bm25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "coder learned on" in out["protocol"] and "(6 notes)" in out["protocol"]
    assert "casewise[concept]" in out["results"]
    with pytest.raises(SystemExit, match="share 6 notes"):
        ev.main(["--codiesp", str(held_out), "--train", str(held_out), "--methods", "bm25"])
