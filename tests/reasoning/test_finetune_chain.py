"""The whole fine-tuning chain on the CPU, every part real: SFT data from the indexed synthetic clinic -> LoRA
training of the bundled SmolLM2-135M -> export in vLLM's layout -> the adapter loaded and answering -> the
four-row comparison (base and base+RAG through the llama.cpp OpenAI-compatible server, SFT and SFT+RAG through
the local transformers+peft backend).

Sized for 2 shared cores: short sequences, a few optimizer steps, three held-out questions, short answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.runtime import Runtime
from casewise.llm import OpenAICompatibleLLM
from casewise.settings import LLMSettings
from eval.compare import SYSTEM_NAMES, Comparison, System, compare, held_out_questions, table_text, write_outputs
from eval.mcq import load_medqa
from reasoning.finetune.card import data_card
from reasoning.finetune.config import load_config
from reasoning.finetune.data import BuildResult, build_rows, load_cases, residual_identifiers
from reasoning.finetune.export import CONFIG_FILE, WEIGHTS_FILE, check_vllm_layout, export_adapter
from reasoning.finetune.local_llm import LocalLLM
from reasoning.finetune.models import BUNDLED_TINY, TINY_HUB_ID
from reasoning.finetune.train import TrainResult, build_trainer, train

MEDQA = Path("/work/shared/data/medqa/test.jsonl")
QUESTIONS = 3
ANSWER_TOKENS = 24


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """On 2 shared cores, torch's second thread spins against other load (measured 4-5x slower generation)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_rt(indexed: Any) -> Runtime:
    """The indexed clinic, retrieving 1 case with 1 excerpt (RAG prompts of ~1k tokens: prefill dominates on a CPU)."""
    rt, _ = indexed
    settings = rt.settings.model_copy(update={"retrieval": rt.settings.retrieval.model_copy(
        update={"top_cases": 1, "min_cases": 1, "max_chunks_per_case": 1})})
    other = Runtime(settings)
    for name in ("store", "index", "embedder", "deid"):
        other.__dict__[name] = getattr(rt, name)
    return other


@pytest.fixture(scope="module")
def sft_data(small_rt: Runtime) -> BuildResult:
    return build_rows(load_cases(small_rt.store), detector=small_rt.deid, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def trained(sft_data: BuildResult, tmp_path_factory: pytest.TempPathFactory, one_torch_thread: None) -> TrainResult:
    cfg = load_config("cpu-smollm2").model_copy(update={"max_steps": 3, "max_seq_length": 96,
                                                       "per_device_batch_size": 1})
    return train(cfg, sft_data.train, tmp_path_factory.mktemp("sft"))


@pytest.fixture(scope="module")
def exported(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "casewise-lora"
    export_adapter(Path(trained.adapter_dir), out, base_model=trained.serve_base_model)
    return out


@pytest.fixture(scope="module")
def sft_llm(exported: Path, one_torch_thread: None) -> LocalLLM:
    return LocalLLM(BUNDLED_TINY, exported, name="casewise-sft")


def test_sft_rows_split_by_patient_and_free_of_identifiers(sft_data: BuildResult, small_rt: Runtime) -> None:
    assert len(sft_data.train) >= 10 and len(sft_data.test) >= QUESTIONS
    train_ids = {r.meta.case_id for r in sft_data.train}
    assert not train_ids & {r.meta.case_id for r in sft_data.test}
    rows = sft_data.train + sft_data.test
    assert residual_identifiers(rows, small_rt.deid) == [[] for _ in rows]
    for r in rows:
        text = r.Question + r.Complex_CoT + r.Response
        assert r.meta.case_id not in text  # the pseudonym is the split key, never training text
        assert r.target().startswith("## Thinking\n\n") and "\n\n## Final Response\n\n" in r.target()
    card = data_card(sft_data)
    assert card["patients_on_both_sides"] == 0
    assert card["train"]["rows"] + card["test"]["rows"] == len(rows)
    assert set(card["train"]["languages"]) == {"es", "en"}


def test_loss_is_on_the_response_only(sft_data: BuildResult, tmp_path: Path, one_torch_thread: None) -> None:
    cfg = load_config("cpu-smollm2").model_copy(update={"max_seq_length": 2048})  # no truncation
    trainer = build_trainer(cfg, sft_data.train[:2], tmp_path)
    row = trainer.train_dataset[0]
    labelled = [t for t, lab in zip(row["input_ids"], row["labels"]) if lab != -100]
    text = trainer.processing_class.decode(labelled)
    assert text.startswith("## Thinking")
    assert sft_data.train[0].Question not in text
    assert sft_data.train[0].Response.splitlines()[0] in text


def test_lora_training_lowers_the_loss(trained: TrainResult) -> None:
    assert trained.steps == 3
    assert trained.probe_loss_after is not None and trained.probe_loss_before is not None
    assert trained.probe_loss_after < trained.probe_loss_before


def test_export_is_the_layout_vllm_loads(exported: Path, trained: TrainResult, tmp_path: Path) -> None:
    assert sorted(p.name for p in exported.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    info = check_vllm_layout(exported)
    assert info.base_model == TINY_HUB_ID and info.target_modules == ["q_proj", "v_proj"] and info.tensors > 0
    # the GPU config's export names the real base model, which is what vLLM matches the adapter against
    gpu = export_adapter(Path(trained.adapter_dir), tmp_path / "gpu",
                         base_model=load_config("huatuogpt-o1-8b").served_id())
    written = json.loads((tmp_path / "gpu" / CONFIG_FILE).read_text())
    assert gpu.base_model == written["base_model_name_or_path"] == "FreedomIntelligence/HuatuoGPT-o1-8B"


def test_loaded_adapter_changes_the_model(sft_llm: LocalLLM) -> None:
    import torch

    model: Any = sft_llm._model
    ids = sft_llm._tok("## Thinking\n\nVAS 7", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        adapted = model(input_ids=ids).logits[0, -1]
        with model.disable_adapter():
            plain = model(input_ids=ids).logits[0, -1]
    assert not torch.allclose(adapted, plain, atol=1e-4)


@pytest.fixture(scope="module")
def comparison(sft_data: BuildResult, sft_llm: LocalLLM, small_rt: Runtime, server_settings: LLMSettings) -> Comparison:
    base = OpenAICompatibleLLM(server_settings.model_copy(update={"timeout_s": 300.0}))  # 2 shared cores
    systems = [System("base", base, rag=False), System("base+RAG", base, rag=True),
               System("SFT", sft_llm, rag=False), System("SFT+RAG", sft_llm, rag=True)]
    questions = held_out_questions(sft_data.test, QUESTIONS)
    mcq = [("medqa", load_medqa(MEDQA, limit=1))] if MEDQA.is_file() else []
    return compare(systems, questions, rt=small_rt, embedder=small_rt.embedder, max_tokens=ANSWER_TOKENS,
                   mcq_sets=mcq, mcq_max_tokens=8)


def test_comparison_has_four_rows_on_the_same_questions(comparison: Comparison, sft_data: BuildResult) -> None:
    assert [s.system for s in comparison.systems] == list(SYSTEM_NAMES)
    assert [s.model for s in comparison.systems] == ["smollm2", "smollm2", "casewise-sft", "casewise-sft"]
    qids = {name: [r.qid for r in comparison.results if r.system == name] for name in SYSTEM_NAMES}
    assert all(q == ["q1", "q2", "q3"] for q in qids.values())
    for s in comparison.systems:
        assert s.n == QUESTIONS and s.latency_mean_ms and s.latency_mean_ms > 0
        for key in ("exact", "semantic_match", "abstention"):
            value = getattr(s, key)
            assert value is not None and 0.0 <= value <= 1.0
        assert (s.citation_validity is None) or s.rag
    held_out = {r.meta.case_id for r in sft_data.test[:QUESTIONS]}
    for r in comparison.results:
        if r.system.endswith("+RAG"):
            assert r.retrieved and not held_out & set(r.retrieved)  # the asked patient's own record is never evidence
        else:
            assert r.completion_tokens and r.completion_tokens <= ANSWER_TOKENS
    lines = table_text(comparison).splitlines()
    assert [line.split()[0] for line in lines[1:5]] == list(SYSTEM_NAMES)


def test_comparison_report_is_self_contained(comparison: Comparison, tmp_path: Path) -> None:
    folder = write_outputs(comparison, tmp_path / "out")
    html = (folder / "report.html").read_text()
    assert "data:image/png;base64," in html and "SFT+RAG" in html
    assert "src=\"http" not in html
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert len(saved["results"]) == 4 * QUESTIONS
    if MEDQA.is_file():
        assert {(m["set"], m["system"]) for m in saved["mcq"]} == {("medqa", "base"), ("medqa", "SFT")}
