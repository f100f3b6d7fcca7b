"""The `casewise` command as a user runs it: real subprocesses, real files, one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CASEWISE = [sys.executable, "-m", "cli.main"]


def run(args: list[str], data_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(CASEWISE + args, capture_output=True, text=True, env=env, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def small_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synth import generate_clinic

    out = tmp_path_factory.mktemp("cli-clinic")
    generate_clinic(out, patients=12, seed=11)
    return out


def test_index_then_ask_json_gives_citations_and_evidence(small_clinic: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    res = run(["index", str(small_clinic)], data)
    assert res.returncode == 0, res.stderr
    assert "12 cases" in res.stdout
    res = run(["ask", "Mujer de 60 años con gonartrosis, EVA 7. ¿Qué funcionó?", "--json", "--k", "5"], data)
    assert res.returncode == 0, res.stderr
    answer = json.loads(res.stdout)
    retrieved = {c["case_id"] for c in answer["evidence"]["cases"]}
    assert len(retrieved) == 5
    # Cited: the similar cases and the whole-store cohort the numbers come from (issue 20), nothing else.
    cohort = set(answer["evidence"]["cohort"]["case_ids"])
    assert answer["citations"] and {c["case_id"] for c in answer["citations"]} <= retrieved | cohort
    assert answer["evidence"]["table"][0]["n_cases"] >= 1 and answer["plan"]["intent"] == "what_worked"
    status = run(["status"], data)
    assert "cases: 12" in status.stdout and "quarantined" not in status.stdout
    assert "collection: casewise_chunks -> casewise_chunks_v1" in status.stdout, "which build queries are served from"
    similar = run(["similar", "--describe", "knee osteoarthritis, VAS 8", "--json", "--k", "3"], data)
    top = [c["case_id"] for c in json.loads(similar.stdout)]
    assert len(top) == 3
    table = run(["similar", "--describe", "knee osteoarthritis, VAS 8", "--k", "3"], data)
    assert all(case in table.stdout for case in top), "the table lists the same cases as the JSON"
    # The cosine column is read against the model's floor (the default pair scores unrelated text ~0.7).
    assert "below 0.70 (this model's similarity floor) a case does not count as evidence" in " ".join(table.stdout.split())


def test_errors_are_one_clear_line_without_traceback(tmp_path: Path) -> None:
    res = run(["index", str(tmp_path / "missing-folder")], tmp_path / "data")
    assert res.returncode == 2
    assert "missing-folder: no such file or folder" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    bad = run(["ask", "x" * 5000], tmp_path / "data")
    assert bad.returncode == 2 and "question: is 5000 characters long" in bad.stderr
    typo = run(["index", "--data-dir", str(tmp_path)], tmp_path / "data")
    assert typo.returncode == 2 and "No such option: --data-dir" in typo.stderr and "internal error" not in typo.stderr


def test_asking_an_empty_index_says_nothing_is_indexed_and_how_to_index(tmp_path: Path) -> None:
    """A new data folder (or the wrong one) answers no question with an empty table: it says what to run."""
    for args in (["ask", "Knee osteoarthritis, VAS 7: what worked?"], ["similar", "--describe", "knee OA, VAS 7"]):
        res = run(args, tmp_path / "empty")
        assert res.returncode == 2, res.stdout
        assert "nothing is indexed yet" in res.stderr and "casewise index FOLDER" in res.stderr, res.stderr
        assert "Similar cases" not in res.stdout and "Traceback" not in res.stderr


THIRD_PARTY_NOISE = re.compile(r"WARNING|Warning|warn\(|it/s|https?://|Loading weights|W0\d\d")


def test_first_run_model_export_prints_nothing_but_casewise(tmp_path: Path) -> None:
    """The one-time ONNX export (a fresh model cache) keeps transformers' progress bars and onnxruntime's
    quantization advice off the terminal; what is left on stderr is Casewise's own."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("NHC: 4455\nGonartrosis. Infiltración PRP. EVA basal 7, a los 6 meses 3.\n",
                                 encoding="utf-8")
    env = {**os.environ, "CASEWISE_DATA_DIR": str(tmp_path / "data"), "CASEWISE_EMBEDDING__MODEL":
           "bundled:all-minilm-l6-v2", "CASEWISE_EMBEDDING__CACHE_DIR": str(tmp_path / "models")}
    res = subprocess.run(CASEWISE + ["index", str(notes)], capture_output=True, text=True, env=env, timeout=600,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert any((tmp_path / "models").rglob("*.onnx")), "the model was exported in this run"
    assert not THIRD_PARTY_NOISE.search(res.stderr), res.stderr[-2000:]
    assert "indexed: 1 new" in res.stdout


def test_invalid_configuration_names_the_setting(tmp_path: Path) -> None:
    env = {**os.environ, "CASEWISE_DATA_DIR": str(tmp_path), "CASEWISE_LLM__BACKEND": "gpt5"}
    res = subprocess.run(CASEWISE + ["status"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 2
    assert "llm.backend" in res.stderr and "'none', 'openai' or 'llamacpp'" in res.stderr


def test_exit_codes_reach_the_shell_for_scripts_and_cron(tmp_path: Path) -> None:
    """A failed check must fail the cron job or CI step that runs it: the console entry point keeps the code."""
    rc = run(["keys", "revoke", "no-such-key", "--data-dir", str(tmp_path)], tmp_path)
    assert rc.returncode == 1 and "no key 'no-such-key'" in rc.stderr
    ok = run(["audit", "verify", "--data-dir", str(tmp_path)], tmp_path)
    assert ok.returncode == 0 and "audit log intact" in ok.stdout


@pytest.mark.slow
def test_demo_answers_in_spanish_and_english_with_cited_cases(tmp_path: Path) -> None:
    """The README's first command: index the bundled sample clinic and answer two questions."""
    res = run(["demo", "--data-dir", str(tmp_path / "demo")], tmp_path, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not THIRD_PARTY_NOISE.search(res.stderr), res.stderr[-2000:]
    out = res.stdout
    # Each answer opens with how the question was read, then the whole-store cohort per treatment (issue 20).
    assert "Entendido como: qué funcionó; artrosis de rodilla" in out and "Understood as: what worked; knee osteoarthritis" in out
    spanish, english = out.split("Pregunta (es)")[1].split("Question (en)")
    assert spanish.count("Casos citados:") == 1 and english.count("Cited cases:") == 1
    for block, word in ((spanish, "Casos citados:"), (english, "Cited cases:")):
        assert len(block.split(word)[1].splitlines()[0].split(",")) >= 3, "at least 3 cited similar cases"
    # Every line of the Spanish answer is Spanish: no English boilerplate, decimal commas, labels not ids.
    for english_word in ("Similar cases", "Evidence:", "Answer", "Cited cases", "median change", "months", "why",
                         "diagnosis:", "terms:"):
        assert english_word not in spanish, english_word
    assert "por tratamiento:" in spanish and "per treatment:" in english
    assert re.search(r"[+-]\d+,\d", spanish) and not re.search(r"[+-]\d+\.\d", spanish.split("Respuesta")[0])
    # The tables name diagnoses and treatments as the answers do ("ácido hialurónico"), never by id ("knee_oa").
    tables = [spanish.split("Respuesta (")[0], english.split("Answer (")[0]]
    assert not any(re.search(r"\b[a-z]+_[a-z]+\b", t) for t in tables), tables
    # It says how to keep asking the sample clinic (its own folder, never the clinic's data folder).
    assert f"CASEWISE_DATA_DIR={tmp_path / 'demo'} .venv/bin/casewise ask" in out
