"""Capacity model: from N patients, M notes per patient and K doctors to chunks, Qdrant RAM/disk, embedding hours and
the vLLM throughput to provision. The formulas and constants are the ones docs/capacity.md explains.

    python -m bench.capacity --patients 10000 --notes 20 --doctors 20 [--words 250] [--cores 2] [--questions 4]

Not a benchmark: it measures nothing. Measured inputs (on the 2-core build machine) are named MEASURED_*; the rest are
assumptions named ASSUMED_*, to be replaced by what a clinic measures on its own hardware.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from casewise.settings import ChunkSettings

# --- chunking (casewise defaults) and the index layout
CHUNK_WORDS = ChunkSettings.model_fields["max_words"].default  # 160
OVERLAP_WORDS = ChunkSettings.model_fields["overlap_words"].default  # 20
DIM = 768  # the default: MiniLM + multilingual-e5-small joined (384 each)
HNSW_LINK_BYTES = 2 * 16 * 4  # level-0 links of HNSW with m=16, 4-byte ids
PAYLOAD_INDEX_BYTES = 64  # keyword/datetime payload indexes per point (case, doc, sex, age band, diagnoses, ...)
QDRANT_RAM_FACTOR = 1.5  # Qdrant's sizing rule: vectors x 1.5 for graph, segments and optimizer copies
DISK_SLACK = 1.2  # WAL and segments being merged

# --- measured on the sample clinic and the 2-core build machine
MEASURED_PAYLOAD_BASE_BYTES = 310  # ids, dates, labels: payload JSON minus the chunk text (693 B at 59 words)
MEASURED_TEXT_BYTES_PER_WORD = 6.5  # UTF-8 Spanish/English chunk text
MEASURED_SPARSE_NNZ_PER_WORD = 1.0  # 60 non-zero lexical weights for 59 words
MEASURED_MINILM_CHUNKS_S = 42.0  # int8 ONNX MiniLM alone, 2 cores, embedding only
MEASURED_PAIR_SPEED = 0.37  # the default pair (MiniLM + e5-small) embeds at 0.37x MiniLM alone (bench.embed, same run)
MEASURED_EMBED_CHUNKS_S = MEASURED_MINILM_CHUNKS_S * MEASURED_PAIR_SPEED
# end to end on 2 cores: parse + de-identify + embed + upsert, 8 chunks/s measured with MiniLM; the pair's slower
# embedding replaces MiniLM's share of each chunk's time
MEASURED_INGEST_CHUNKS_S = 1 / (1 / 8.0 - 1 / MEASURED_MINILM_CHUNKS_S + 1 / MEASURED_EMBED_CHUNKS_S)
MEASURED_CORES = 2

# --- assumptions (not measurable here: no GPU, no vLLM)
ASSUMED_GPU_EMBED_CHUNKS_S = 1000.0  # the pair (MiniLM-L6 + e5-small, 18 layers in all), fp16, batch 256, one GPU
ASSUMED_PROMPT_TOKENS = 3500  # question + evidence table + top cases' excerpts
ASSUMED_OUTPUT_TOKENS = 1200  # HuatuoGPT-o1 "## Thinking" + "## Final Response"
ASSUMED_STREAM_TOKENS_S = 60.0  # one answer's decode speed, 8B bf16, under batching
ASSUMED_GPU_DECODE_TOKENS_S = 1500.0  # aggregate decode of one GPU with continuous batching (8B bf16, 80 GB class)
ASSUMED_GPU_PREFILL_TOKENS_S = 10000.0  # aggregate prompt processing of one GPU
TARGET_GPU_UTILISATION = 0.7  # headroom for bursts

GIB = 1024**3


@dataclass(frozen=True)
class Capacity:
    patients: int
    notes_per_patient: int
    doctors: int
    chunks_per_note: int
    chunks: int
    ram_float32_gib: float
    ram_int8_gib: float
    disk_gib: float
    embed_cpu_hours: float
    ingest_cpu_hours: float
    ingest_gpu_hours: float
    questions_per_s: float
    output_tokens_s: float
    prompt_tokens_s: float
    answer_latency_s: float
    concurrent_answers: float
    gpus: int


def chunks_per_note(words: int) -> int:
    """The chunker's sliding window: max_words per chunk, overlap_words shared with the previous one."""
    stride = CHUNK_WORDS - OVERLAP_WORDS
    return max(1, math.ceil((words - OVERLAP_WORDS) / stride))


def capacity(patients: int, notes_per_patient: int, doctors: int, *, words_per_note: int = 250, cores: int = 2,
             questions_per_doctor_hour: float = 4.0) -> Capacity:
    """Every figure of docs/capacity.md for one clinic."""
    per_note = chunks_per_note(words_per_note)
    chunks = patients * notes_per_patient * per_note
    words_per_chunk = (words_per_note + (per_note - 1) * OVERLAP_WORDS) / per_note
    nnz = MEASURED_SPARSE_NNZ_PER_WORD * words_per_chunk
    payload = MEASURED_PAYLOAD_BASE_BYTES + MEASURED_TEXT_BYTES_PER_WORD * words_per_chunk
    in_ram_besides_dense = nnz * 8 + HNSW_LINK_BYTES + PAYLOAD_INDEX_BYTES  # sparse index, graph, payload indexes
    ram32 = chunks * (DIM * 4 * QDRANT_RAM_FACTOR + in_ram_besides_dense)
    ram8 = chunks * (DIM * 1 * QDRANT_RAM_FACTOR + in_ram_besides_dense)  # originals on disk, for rescoring
    disk = chunks * (DIM * 4 + DIM + nnz * 8 + payload + HNSW_LINK_BYTES) * DISK_SLACK

    scale = cores / MEASURED_CORES  # parsing and de-identification scale with cores (one process per core)
    parse_deid_s = 1 / MEASURED_INGEST_CHUNKS_S - 1 / MEASURED_EMBED_CHUNKS_S  # per chunk, on 2 cores
    embed_cpu_h = chunks / (MEASURED_EMBED_CHUNKS_S * scale) / 3600
    ingest_cpu_h = chunks / (MEASURED_INGEST_CHUNKS_S * scale) / 3600
    ingest_gpu_h = chunks * (parse_deid_s / scale + 1 / ASSUMED_GPU_EMBED_CHUNKS_S) / 3600

    rate = doctors * questions_per_doctor_hour / 3600
    out_s = rate * ASSUMED_OUTPUT_TOKENS
    prompt_s = rate * ASSUMED_PROMPT_TOKENS
    latency = ASSUMED_OUTPUT_TOKENS / ASSUMED_STREAM_TOKENS_S
    load = out_s / ASSUMED_GPU_DECODE_TOKENS_S + prompt_s / ASSUMED_GPU_PREFILL_TOKENS_S
    gpus = max(1, math.ceil(load / TARGET_GPU_UTILISATION))
    return Capacity(
        patients=patients, notes_per_patient=notes_per_patient, doctors=doctors, chunks_per_note=per_note,
        chunks=chunks, ram_float32_gib=ram32 / GIB, ram_int8_gib=ram8 / GIB, disk_gib=disk / GIB,
        embed_cpu_hours=embed_cpu_h, ingest_cpu_hours=ingest_cpu_h, ingest_gpu_hours=ingest_gpu_h,
        questions_per_s=rate, output_tokens_s=out_s, prompt_tokens_s=prompt_s, answer_latency_s=latency,
        concurrent_answers=rate * latency, gpus=gpus,
    )


def rows(c: Capacity, cores: int = 2) -> list[tuple[str, str]]:
    """The table as (quantity, value) pairs; docs/capacity.md carries the same rows."""
    return [
        ("chunks per note", f"{c.chunks_per_note}"),
        ("chunks (= dense vectors)", f"{c.chunks:,}"),
        ("Qdrant RAM, float32 vectors", f"{c.ram_float32_gib:.2f} GiB"),
        ("Qdrant RAM, int8 quantization", f"{c.ram_int8_gib:.2f} GiB"),
        ("Qdrant disk", f"{c.disk_gib:.2f} GiB"),
        (f"embedding only, CPU ({cores} cores)", f"{c.embed_cpu_hours:.1f} h"),
        (f"first full ingest, CPU ({cores} cores)", f"{c.ingest_cpu_hours:.1f} h"),
        (f"first full ingest, GPU embedding ({cores} cores)", f"{c.ingest_gpu_hours:.1f} h"),
        ("peak questions", f"{c.questions_per_s * 3600:.0f} /h"),
        ("vLLM output tokens", f"{c.output_tokens_s:.0f} tokens/s"),
        ("vLLM prompt tokens", f"{c.prompt_tokens_s:.0f} tokens/s"),
        ("answer time (one stream)", f"{c.answer_latency_s:.0f} s"),
        ("answers generating at once", f"{c.concurrent_answers:.1f}"),
        ("GPUs for vLLM (8B bf16)", f"{c.gpus}"),
    ]


def render(c: Capacity, cores: int = 2) -> str:
    head = f"N={c.patients:,} patients, M={c.notes_per_patient} notes each, K={c.doctors} doctors"
    lines = [head, "", "| quantity | value |", "|---|---|"]
    lines += [f"| {q} | {v} |" for q, v in rows(c, cores)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--patients", type=int, default=10_000, help="N")
    ap.add_argument("--notes", type=int, default=20, help="M: notes, letters and reports per patient")
    ap.add_argument("--doctors", type=int, default=20, help="K: doctors asking at the peak hour")
    ap.add_argument("--words", type=int, default=250, help="words per note")
    ap.add_argument("--cores", type=int, default=2, help="CPU cores for ingestion")
    ap.add_argument("--questions", type=float, default=4.0, help="questions per doctor in the peak hour")
    a = ap.parse_args(argv)
    for name in ("patients", "notes", "doctors", "words", "cores"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be at least 1")
    c = capacity(a.patients, a.notes, a.doctors, words_per_note=a.words, cores=a.cores,
                 questions_per_doctor_hour=a.questions)
    print(render(c, a.cores))


if __name__ == "__main__":
    main()
