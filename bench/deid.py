"""De-identification throughput: Casewise's lean analyzer (spaCy NER component only, lean artifacts, no context
enhancer) against the one it replaced (spaCy's shared tok2vec kept, Presidio's default artifacts and context
enhancer), and both against spaCy's NER component alone (the floor no rule set can beat), same notes, same run.

    python -m bench.deid [--meddocan DIR] [--limit 120] [--rounds 2]

The notes are MEDDOCAN's (Spanish clinical cases, about 2,000 characters each) or any folder of .txt files. Each
variant de-identifies every note `--rounds` times, interleaved, and the best round counts (the machine is shared; the
best round is the least disturbed); time is this process's CPU time, not wall time. Prints notes/s, the ratio of lean to default, the share of spaCy-only speed each
reaches, and whether the two analyzers gave the same output (they must).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from casewise.settings import DeidSettings
from indexing.deid import Deidentifier
from indexing.deid.engine import build_analyzer, load_spacy_pipeline

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "meddocan" / "dev" / "brat"


def best_rate(fn: Callable[[], object], n: int, rounds: int) -> float:
    """Best notes/s of `rounds` runs of `fn` over `n` notes."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.process_time()  # CPU time of this process: other workers' load on the shared cores counts less
        fn()
        best = max(best, n / (time.process_time() - t0))
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    ap = argparse.ArgumentParser(prog="python -m bench.deid", description=__doc__)
    ap.add_argument("--meddocan", type=Path, default=DEFAULT_DIR, help="folder of .txt notes")
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    notes = [p.read_text(encoding="utf-8") for p in sorted(args.meddocan.glob("*.txt"))[: args.limit]]
    if not notes:
        ap.error(f"{args.meddocan}: no .txt files")
    settings = DeidSettings(secret=SecretStr("bench-secret"), max_date_shift_days=180)
    lean, default = Deidentifier(settings), Deidentifier(settings)
    for d in (lean, default):
        d.deidentify("Texto de calentamiento.", language="es")  # builds the engines (lean) and warms the caches
    default._analyzer = build_analyzer(lean=False)  # then swap in the analyzer Casewise used before
    default.deidentify("Texto de calentamiento.", language="es")
    nlp = load_spacy_pipeline("es", lean=True)

    rates = {"spacy_ner_only": 0.0, "deid_default": 0.0, "deid_lean": 0.0}
    outputs: dict[str, list[str]] = {}
    for _ in range(args.rounds):  # interleaved, so a burst of load hits every variant alike
        rates["spacy_ner_only"] = max(rates["spacy_ner_only"],
                                      best_rate(lambda: list(nlp.pipe(notes, batch_size=32)), len(notes), 1))
        for name, d in (("deid_default", default), ("deid_lean", lean)):
            def run(d: Deidentifier = d, name: str = name) -> None:
                outputs[name] = [r.text for r in d.deidentify_many(notes, language="es")]

            rates[name] = max(rates[name], best_rate(run, len(notes), 1))
    print(f"{len(notes)} notes, {sum(map(len, notes)) / len(notes):.0f} chars each, best of {args.rounds} rounds")
    for name, rate in rates.items():
        print(f"  {name:<16}{rate:8.1f} notes/s   {rate / rates['spacy_ner_only']:.2f} of spaCy NER alone")
    print(f"ratio lean/default: {rates['deid_lean'] / rates['deid_default']:.2f}")
    print(f"same output: {outputs['deid_lean'] == outputs['deid_default']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
