"""Start-up cost of de-identification: spaCy + Presidio imported plainly vs through `load_nlp_stack`, same run.

    python -m bench.startup [--rounds 3]

Each round starts two fresh Python processes, alternately: one imports spaCy, thinc and Presidio as they come (which
loads torch and transformers), one through `indexing.deid.nlp_imports.load_nlp_stack` (which hides both). Each then
builds Casewise's analyzer and de-identifies one sentence, so the comparison includes what the work needs. Prints the
best round of each (the machine is shared; the best round is the least disturbed) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
if {lean}:
    from indexing.deid.nlp_imports import load_nlp_stack
    load_nlp_stack()
else:
    import spacy, thinc.api, presidio_analyzer, presidio_anonymizer
t1 = time.perf_counter()
from indexing.deid.engine import build_analyzer
found = build_analyzer().analyze("Paciente Juan García Pérez, 45 años, vive en Madrid.", language="es")
t2 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "total": t2 - t0, "entities": len(found),
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
"""


def run(lean: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(lean=lean)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    best: dict[bool, dict] = {}
    for _ in range(args.rounds):
        for lean in (False, True):
            r = run(lean)
            if lean not in best or r["total"] < best[lean]["total"]:
                best[lean] = r
    for lean, label in ((False, "plain imports (baseline)"), (True, "load_nlp_stack")):
        r = best[lean]
        print(f"{label:26s} imports {r['imports']:5.2f} s  imports+analyzer+1 note {r['total']:5.2f} s  "
              f"entities {r['entities']}  torch loaded: {r['torch']}  transformers loaded: {r['transformers']}")
    print(f"ratio (load_nlp_stack / baseline): imports {best[True]['imports'] / best[False]['imports']:.2f}x, "
          f"with the analyzer {best[True]['total'] / best[False]['total']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
