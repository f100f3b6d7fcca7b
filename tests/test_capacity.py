"""The capacity model (bench/capacity.py) agrees with docs/capacity.md and with Casewise's real chunker."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from casewise.settings import ChunkSettings
from casewise.types import Section
from indexing.chunk import split_sections

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "capacity.md").read_text()

# bench/ is run as `python -m bench.capacity` from the repository root and is not an installed package.
_spec = importlib.util.spec_from_file_location("bench_capacity", ROOT / "bench" / "capacity.py")
assert _spec and _spec.loader
cap = importlib.util.module_from_spec(_spec)
sys.modules["bench_capacity"] = cap
_spec.loader.exec_module(cap)
capacity, chunks_per_note, render, rows = cap.capacity, cap.chunks_per_note, cap.render, cap.rows


def test_chunks_per_note_is_what_the_chunker_produces() -> None:
    cfg = ChunkSettings()
    assert (cap.CHUNK_WORDS, cap.OVERLAP_WORDS) == (cfg.max_words, cfg.overlap_words)
    for words in (1, 100, 160, 161, 250, 300, 301, 999, 2500):
        note = [Section(text=" ".join(f"w{i}" for i in range(words)))]
        assert chunks_per_note(words) == len(split_sections(note, cfg)), words


def test_worked_example_in_the_doc_is_what_the_code_prints() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.capacity", "--patients", "10000", "--notes", "20",
                          "--doctors", "20"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == render(capacity(10_000, 20, 20)).strip()
    assert out.strip() in DOC


def test_larger_clinics_table_matches_the_code() -> None:
    table = [line for line in DOC.splitlines() if re.match(r"\| [\d,]+ \| \d+ \| [\d,]+ \|", line)]
    assert len(table) >= 4
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        n, m, k = (int(c.replace(",", "")) for c in cells[:3])
        values = dict(rows(capacity(n, m, k)))
        assert cells[3:] == [
            values["chunks (= dense vectors)"], values["Qdrant RAM, float32 vectors"],
            values["Qdrant RAM, int8 quantization"], values["Qdrant disk"],
            values["first full ingest, CPU (2 cores)"], values["vLLM output tokens"].split()[0],
            values["GPUs for vLLM (8B bf16)"],
        ], line


def test_more_patients_doctors_and_cores_move_the_figures_the_right_way() -> None:
    base = capacity(10_000, 20, 20)
    assert capacity(20_000, 20, 20).chunks == 2 * base.chunks
    assert base.ram_int8_gib < base.ram_float32_gib < base.disk_gib
    assert capacity(10_000, 20, 20, cores=8).ingest_cpu_hours == base.ingest_cpu_hours / 4
    assert capacity(10_000, 20, 2000).gpus > base.gpus


def test_bad_arguments_are_one_line_errors() -> None:
    res = subprocess.run([sys.executable, "-m", "bench.capacity", "--patients", "0"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "--patients must be at least 1" in res.stderr
