"""Coverage of case assembly on real notes nobody here wrote: the Orthopedic reports of MTSamples.

`python -m eval.mtsamples_eval DIR [--specialty Orthopedic] [--limit N] [--json] [--show N]`

DIR holds `mtsamples.csv` (../shared/data/mtsamples). Each note (deduplicated by sample_id) is written to a
temporary folder and read exactly as indexing reads it (parse -> link -> de-identify -> extract -> ICD-10 coder),
then assembled into its case; nothing is embedded. Reported:

- the share of notes that became a case;
- age and sex: found among the notes that state them, and correct there. Whether a note states them is decided
  by this module's own patterns on the raw text (written apart from the extractor, checked by hand on a sample),
  with sex split into a sex word or title ('female', 'gentleman', 'Mrs.') and pronouns only ('she ... her');
  and the notes that state neither but got one anyway (inferred: should be 0);
- the share with at least one diagnosis or procedure (text level), and with at least one ICD-10 code.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Ground truth patterns: deliberately plain, and not shared with indexing/extraction.
_AGE_TRUTH = re.compile(r"\b(\d{1,3})\s*-?\s*(?:year|yr)s?\s*-?\s*old\b|\b(\d{1,3})\s*(?:y/o|yo)\b"
                        r"|\b(\d{1,3}) years of age\b|\baged? (\d{1,3})\b", re.IGNORECASE)
_SEX_WORD_TRUTH = re.compile(r"\b(?:(female|woman|lady|girl)|(male|man|gentleman|boy))\b"
                             r"|\b(?:(Mrs|Ms|Miss)|(Mr))\.? [A-Z]")
_SHE, _HE = re.compile(r"\b(?:she|her)\b", re.IGNORECASE), re.compile(r"\b(?:he|his|him)\b", re.IGNORECASE)


def truth_age(text: str) -> int | None:
    m = _AGE_TRUTH.search(text)
    return int(next(g for g in m.groups() if g)) if m else None


def truth_sex(text: str) -> tuple[str | None, str]:
    """(sex, how stated): 'word' for a sex word or title, 'pronoun' for pronouns all one way, '' for not stated."""
    m = _SEX_WORD_TRUTH.search(text)
    if m:
        return ("F" if m.group(1) or m.group(3) else "M"), "word"
    she, he = len(_SHE.findall(text)), len(_HE.findall(text))
    if she >= 2 and he == 0:
        return "F", "pronoun"
    if he >= 2 and she == 0:
        return "M", "pronoun"
    return None, ""


def read_notes(folder: Path, specialty: str) -> list[tuple[str, str]]:
    csv.field_size_limit(sys.maxsize)
    out: dict[str, str] = {}
    with (folder / "mtsamples.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("medical_specialty", "").strip() != specialty or not (row.get("transcription") or "").strip():
                continue
            out.setdefault(row["sample_id"], row["transcription"].strip())
    return sorted(out.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)


def evaluate(folder: Path, *, specialty: str = "Orthopedic", limit: int | None = None,
             show: int = 0) -> dict[str, Any]:
    from app.runtime import Runtime
    from casewise.settings import load_settings
    from indexing.assemble import merge
    from indexing.reader import DocumentReader
    from indexing.sources import content_hash, doc_id_for

    notes = read_notes(folder, specialty)[:limit]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings(data_dir=Path(tmp) / "data"))
        reader = DocumentReader(rt.settings, rt.deid)
        src = Path(tmp) / "notes"
        src.mkdir()
        for sid, text in notes:
            path = src / f"mtsamples_{sid}.txt"
            path.write_text(text + "\n", encoding="utf-8")
            doc = reader.read(path, content_hash(path), doc_id_for(path))
            case = merge(doc.case_id, list(doc.facts.items())) if doc.case_id else None
            age_t = truth_age(text)
            sex_t, how = truth_sex(text)
            rows.append({
                "sid": sid, "case": case is not None, "age_truth": age_t, "sex_truth": sex_t, "sex_how": how,
                "age": next((f.age for f in doc.facts.values() if f.age is not None), None),
                "age_band": case.age_band if case else None, "sex": case.sex if case else None,
                "diagnoses": [d.name for d in case.diagnoses] if case else [],
                "procedures": [t.name for t in case.treatments] if case else [],
                "codes": [c.code for c in case.codes] if case else []})
        rt.close()
    n = len(rows)

    def share(k: int, d: int) -> dict[str, Any]:
        return {"n": k, "of": d, "share": round(k / d, 4) if d else None}

    aged = [r for r in rows if r["age_truth"] is not None]
    sexed = [r for r in rows if r["sex_how"] == "word"]
    pron = [r for r in rows if r["sex_how"] == "pronoun"]
    report = {
        "set": f"MTSamples {specialty}", "notes": n, "seconds": round(time.perf_counter() - started, 1),
        "became_a_case": share(sum(r["case"] for r in rows), n),
        "age_found_where_stated": share(sum(r["age"] is not None for r in aged), len(aged)),
        "age_correct_where_stated": share(sum(_same_age(r["age"], r["age_truth"]) for r in aged), len(aged)),
        "age_where_not_stated": share(sum(r["age"] is not None for r in rows if r["age_truth"] is None),
                                      n - len(aged)),
        "sex_found_where_a_sex_word": share(sum(r["sex"] is not None for r in sexed), len(sexed)),
        "sex_correct_where_a_sex_word": share(sum(r["sex"] == r["sex_truth"] for r in sexed), len(sexed)),
        "sex_found_where_pronouns_only": share(sum(r["sex"] is not None for r in pron), len(pron)),
        "sex_correct_where_pronouns_only": share(sum(r["sex"] == r["sex_truth"] for r in pron), len(pron)),
        "sex_where_not_stated": share(sum(r["sex"] is not None for r in rows if not r["sex_how"]),
                                      sum(not r["sex_how"] for r in rows)),
        "with_a_diagnosis_or_procedure": share(sum(bool(r["diagnoses"] or r["procedures"]) for r in rows), n),
        "with_a_diagnosis": share(sum(bool(r["diagnoses"]) for r in rows), n),
        "with_a_procedure_or_treatment": share(sum(bool(r["procedures"]) for r in rows), n),
        "with_an_icd10_code": share(sum(bool(r["codes"]) for r in rows), n),
    }
    if show:
        report["disagreements"] = [
            {k: r[k] for k in ("sid", "age_truth", "age", "sex_truth", "sex_how", "sex")} for r in rows
            if not _same_age(r["age"], r["age_truth"]) or (r["sex_how"] and r["sex"] != r["sex_truth"])
            or (not r["sex_how"] and r["sex"])][:show]
        report["without_diagnosis_or_procedure"] = [r["sid"] for r in rows
                                                    if not (r["diagnoses"] or r["procedures"])][:show]
    return report


def _same_age(got: int | str | None, truth: int | None) -> bool:
    if truth is None:
        return got is None
    if truth >= 90:
        return got == "90+"
    return got == truth


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.mtsamples_eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="folder holding mtsamples.csv")
    ap.add_argument("--specialty", default="Orthopedic")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--show", type=int, default=0, help="list up to N disagreements with the ground truth")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rep = evaluate(args.folder, specialty=args.specialty, limit=args.limit, show=args.show)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        for k, v in rep.items():
            print(f"{k:36s} {v['n']}/{v['of']} = {v['share']}" if isinstance(v, dict) and "of" in v else f"{k:36s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
