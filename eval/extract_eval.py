"""Measure extraction: per-field precision/recall on the synthetic clinic, span recall on CodiEsp.

`casewise eval extract --synth [DIR] [--backend rules|llm] [--no-deid] [--limit N] [--json]`
    Every patient's free-text documents (notes, PDF reports, DOCX letters; never the tables) are parsed,
    de-identified (unless --no-deid), extracted one by one and merged into a case the way indexing does. The case is
    compared with ground_truth.json field by field. Precision counts every extracted value against the patient's
    whole ground truth. Recall of outcome values counts only the ground-truth scores the documents actually hold:
    a score is 'in the text' when its value is written within 40 characters after its measure's name (in the same
    sentence, before another measure's name) in one of the patient's documents (tables, the only place for the rest, are read by the table reader, not by extraction);
    recall against every ground-truth score is reported too. Treatment dates are compared only with --no-deid
    (de-identification shifts them).

`casewise eval extract --codiesp DIR (--train DIR ... | --folds K) [--language es|en] [--keep-negated] [--json]`
    The ICD-10 coder as CodiEsp measures it (eval.coding_eval): learned on the --train folders and scored on DIR, or
    K-fold cross-validated within DIR (fold = sha256(note id) mod K); micro P/R/F1 on full codes and on categories
    (diagnoses: 3 characters, procedures: 4) and MAP, per language (the Spanish notes, their English translations)
    and kind. Without --train or --folds, the coder indexing uses (the data folder's, else the bundled one) is scored
    on DIR, flagged as not held out when it learned from a folder of that name.

`casewise eval extract --codiesp DIR --spans [--lexicon-split] [--limit N] [--json]`
    Span-level recall of the diagnosis and procedure evidence spans of trainX.tsv: a gold span is found when a
    diagnosis (procedure: treatment) mention of the lexicon overlaps it. The lexicon is regenerative-medicine
    focused, so recall over all of medicine is low by design. --lexicon-split measures what a clinic's vocabulary
    file adds: documents are split in two halves by a hash of their id, the span texts of half A become a
    vocabulary file, and both lexicons are measured on half B only (never on the half they were built from).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casewise.vocabulary import BUILTIN, Term, Vocabulary, fold
from indexing.assemble import merge
from indexing.extraction.interface import Extractor, facts_from
from indexing.extraction.rules import RulesExtractor

if TYPE_CHECKING:
    from casewise.types import Case
    from indexing.deid import Deidentifier
    from synth import GroundTruth

TEXT_TYPES = {".txt": "txt", ".pdf": "pdf", ".docx": "docx"}
MEASURE_OF = {"vas": "VAS", "womac": "WOMAC", "koos_pain": "KOOS", "koos": "KOOS", "lequesne": "LEQUESNE"}
MEASURE_WORDS = {"VAS": r"eva|vas|pain|dolor", "WOMAC": r"womac", "KOOS": r"koos", "LEQUESNE": r"lequesne"}
GOLD_MEASURES = frozenset(MEASURE_OF.values())
ALL_MEASURE_WORDS = "|".join(MEASURE_WORDS.values())
WINDOW = 40


@dataclass
class PR:
    """Counts for one field: extracted, correct among extracted, gold, gold found."""

    extracted: int = 0
    correct: int = 0
    gold: int = 0
    found: int = 0

    @property
    def precision(self) -> float | None:
        return self.correct / self.extracted if self.extracted else None

    @property
    def recall(self) -> float | None:
        return self.found / self.gold if self.gold else None

    def add(self, extracted: int, correct: int, gold: int, found: int) -> None:
        self.extracted += extracted
        self.correct += correct
        self.gold += gold
        self.found += found

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": _r(self.precision), "recall": _r(self.recall)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class SynthExtractReport:
    patients: int
    documents: int
    deidentified: bool
    backend: str
    seconds: float
    fields: dict[str, PR] = field(default_factory=dict)
    fallbacks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"set": "synthetic clinic", "patients": self.patients, "documents": self.documents,
                "deidentified": self.deidentified, "backend": self.backend, "seconds": round(self.seconds, 1),
                "fallbacks": self.fallbacks, "fields": {k: v.to_dict() for k, v in self.fields.items()}}

    def table(self) -> str:
        lines = [(f"Extraction on the synthetic clinic: {self.patients} patients, {self.documents} documents, backend "
                 f"{self.backend}, {'de-identified' if self.deidentified else 'raw'} text, {self.seconds:.1f} s"),
                 f"{'field':<28}{'precision':>10}{'recall':>8}{'extracted':>11}{'gold':>7}"]
        for name, pr in self.fields.items():
            p = "-" if pr.precision is None else f"{pr.precision:.3f}"
            r = "-" if pr.recall is None else f"{pr.recall:.3f}"
            lines.append(f"{name:<28}{p:>10}{r:>8}{pr.extracted:>11}{pr.gold:>7}")
        if self.fallbacks:
            lines.append(f"LLM output not used (rules fallback) for {self.fallbacks} documents")
        return "\n".join(lines)


def _norm_ref(ref: str) -> str:
    return ref.strip().lstrip("0") or "0"


def _value_in_text(folded_docs: list[str], measure: str, value: float) -> bool:
    """True when `value` is written within WINDOW characters after the measure's name in one of the documents."""
    whole = f"{value:g}"
    forms = {whole, whole.replace(".", ",")}
    num = "|".join(re.escape(x) for x in forms)
    gap = rf"(?:(?!\.\s|;|{ALL_MEASURE_WORDS})[\s\S]){{0,{WINDOW}}}?"
    pat = re.compile(rf"(?:{MEASURE_WORDS[measure]})(?={gap}(?<![\d.,])(?:{num})(?![\d]|[.,]\d))")
    return any(pat.search(d) for d in folded_docs)


def _str(x: object) -> str | None:
    return None if x is None else str(x)


def _dose_key(dose: str | None) -> str | None:
    return None if dose is None else re.sub(r"\s+", " ", dose.strip().lower()).replace("mj/mm2", "mj/mm2")


def evaluate_synth(folder: Path, extractor: Extractor, *, deid: Deidentifier | None, limit: int | None = None,
                   patients: Iterable[str] | None = None) -> SynthExtractReport:
    """Per-field precision and recall of the cases assembled from each patient's free-text documents."""
    from indexing.parse import parse_text_document
    from synth import load_ground_truth

    started = time.perf_counter()
    truth: GroundTruth = load_ground_truth(folder)
    root = folder if folder.is_dir() else folder.parent
    wanted = set(patients) if patients is not None else None
    chosen = [p for p in truth.patients if wanted is None or p.patient_id in wanted][:limit]
    fields = {name: PR() for name in (
        "diagnosis", "diagnosis.side", "diagnosis.severity", "diagnosis.icd10", "treatment", "treatment.dose",
        "treatment.sessions", "treatment.date", "outcome.value", "outcome.value+treatment", "outcome.value (all gold)",
        "adverse_event")}
    n_docs = 0
    fallbacks = 0
    for p in chosen:
        docs = [root / d for d in p.documents if Path(d).suffix in TEXT_TYPES]
        texts: list[str] = []
        facts = []
        ref = _norm_ref(p.nhc)
        for path in docs:
            sections = parse_text_document(path, TEXT_TYPES[path.suffix], 50_000_000)  # type: ignore[arg-type]
            text = "\n".join(s.title + "\n" + s.text for s in sections)
            if deid is not None:
                text = deid.deidentify(text, patient_key=ref, language=p.language).text
            note = extractor.extract(text, language=p.language)  # type: ignore[arg-type]
            fallbacks += note.fallback is not None
            facts.append((str(path), facts_from(note)))
            texts.append(fold(text))
        n_docs += len(docs)
        case = merge(p.patient_id, facts)
        _score_patient(fields, case, p, texts, dates=deid is None)
    if deid is not None:
        del fields["treatment.date"]
    return SynthExtractReport(len(chosen), n_docs, deid is not None, getattr(extractor, "name", "?"),
                              time.perf_counter() - started, fields, fallbacks)


def _score_patient(fields: dict[str, PR], case: Case, p: Any, texts: list[str], *, dates: bool) -> None:
    gd = p.diagnosis
    got = {d.name: d for d in case.diagnoses}
    fields["diagnosis"].add(len(got), int(gd.diagnosis_id in got), 1, int(gd.diagnosis_id in got))
    d = got.get(gd.diagnosis_id)
    gold_sev = f"KL{gd.severity}" if gd.severity is not None else None
    for name, extracted, gold in (("diagnosis.side", d.side if d else None, gd.side),
                                  ("diagnosis.severity", d.severity if d else None, gold_sev),
                                  ("diagnosis.icd10", (d.icd10 or "")[:3] or None if d else None, gd.icd10[:3])):
        ok = extracted is not None and extracted == gold
        fields[name].add(int(extracted is not None), int(ok), int(gold is not None), int(ok))
    gold_t = {t.treatment_id: t for t in p.treatments}
    got_t: dict[str, Any] = {}
    for t in case.treatments:
        got_t.setdefault(t.name, t)
    hits = set(got_t) & set(gold_t)
    fields["treatment"].add(len(got_t), len(hits), len(gold_t), len(hits))
    for name, attr in (("treatment.dose", "dose"), ("treatment.sessions", "sessions"), ("treatment.date", "date")):
        if name == "treatment.date" and not dates:
            continue
        for tid, t in got_t.items():
            val = getattr(t, attr)
            gold = getattr(gold_t[tid], attr) if tid in gold_t else None
            if name == "treatment.dose":
                val, gold = _dose_key(val), _dose_key(gold)
            if name == "treatment.date":
                val, gold = _str(val), _str(gold)
            if name == "treatment.sessions" and tid == "surgery_referral":
                continue
            ok = val is not None and gold is not None and val == gold
            fields[name].add(int(val is not None), int(ok), 0, 0)
        for tid, gt in gold_t.items():
            gold = getattr(gt, attr)
            if gold is None:
                continue
            val = getattr(got_t[tid], attr) if tid in got_t else None
            if name == "treatment.dose":
                val, gold = _dose_key(val), _dose_key(gold)
            if name == "treatment.date":
                val, gold = _str(val), _str(gold)
            fields[name].add(0, 0, 1, int(val == gold))
    gold_vals: set[tuple[str, float, float]] = set()
    gold_attr: set[tuple[str, str, float, float]] = set()
    for t in p.treatments:
        for o in t.outcomes:
            m = MEASURE_OF.get(o.measure, o.measure.upper())
            gold_vals.add((m, float(o.time_point_months), float(o.value)))
            gold_attr.add((t.treatment_id, m, float(o.time_point_months), float(o.value)))
    # The ground truth records VAS, WOMAC and KOOS only: other measures (range of motion) are not scored.
    scored = [o for o in case.outcomes if o.measure in GOLD_MEASURES]
    got_vals = {(o.measure, o.months, o.value) for o in scored}
    got_attr = {(o.treatment or "", o.measure, o.months, o.value) for o in scored}
    findable = {g for g in gold_vals if g[0] in MEASURE_WORDS and _value_in_text(texts, g[0], g[2])}
    findable_attr = {g for g in gold_attr if (g[1], g[2], g[3]) in findable}
    fields["outcome.value"].add(len(got_vals), len(got_vals & gold_vals), len(findable), len(got_vals & findable))
    fields["outcome.value+treatment"].add(len(got_attr), len(got_attr & gold_attr), len(findable_attr),
                                          len(got_attr & findable_attr))
    fields["outcome.value (all gold)"].add(len(got_vals), len(got_vals & gold_vals), len(gold_vals),
                                           len(got_vals & gold_vals))
    gold_ae = {a for t in p.treatments for a in t.adverse_events}
    got_ae = set(case.adverse_events)
    fields["adverse_event"].add(len(got_ae), len(got_ae & gold_ae), len(gold_ae), len(got_ae & gold_ae))


# --------------------------------------------------------------------------- CodiEsp


@dataclass
class SpanReport:
    name: str
    documents: int
    spans: dict[str, PR]

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.name, "documents": self.documents, "spans": {k: v.to_dict() for k, v in self.spans.items()}}

    def table(self) -> str:
        lines = [f"{self.name}: {self.documents} documents",
                 f"{'kind':<14}{'recall':>8}{'gold':>7}{'found':>7}{'precision*':>12}{'mentions':>10}"]
        for kind, pr in self.spans.items():
            r = "-" if pr.recall is None else f"{pr.recall:.3f}"
            p = "-" if pr.precision is None else f"{pr.precision:.3f}"
            lines.append(f"{kind:<14}{r:>8}{pr.gold:>7}{pr.found:>7}{p:>12}{pr.extracted:>10}")
        lines.append("* precision = share of mentions that overlap an annotated span of the same kind "
                     "(CodiEsp does not annotate every mention, so this is a lower bound)")
        return "\n".join(lines)


Gold = dict[str, list[tuple[str, str, list[tuple[int, int]]]]]  # doc -> [(kind, text, fragments)]


def read_codiesp(folder: Path) -> tuple[dict[str, str], Gold]:
    """Texts (Spanish) and evidence spans of a CodiEsp split folder (text_files/ + *X.tsv)."""
    xs = sorted(folder.glob("*X.tsv"))
    texts_dir = folder / "text_files"
    if not xs or not texts_dir.is_dir():
        raise FileNotFoundError(f"{folder}: expected text_files/ and a *X.tsv file (CodiEsp layout)")
    gold: Gold = defaultdict(list)
    for line in xs[0].read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        doc, kind, _code, text, offs = parts[:5]
        frags = []
        for frag in offs.split(";"):
            a, _, b = frag.strip().partition(" ")
            if a.isdigit() and b.isdigit():
                frags.append((int(a), int(b)))
        gold[doc].append(("diagnosis" if kind.startswith("DIAG") else "procedure", text, frags))
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(texts_dir.glob("*.txt")) if p.stem in gold}
    return texts, gold


def span_recall(name: str, texts: dict[str, str], gold: Gold, vocab: Vocabulary) -> SpanReport:
    spans = {"diagnosis": PR(), "procedure": PR()}
    for doc, text in texts.items():
        found = {"diagnosis": [(m.start, m.end) for m in vocab.diagnosis_mentions(text)],
                 "procedure": [(m.start, m.end) for m in vocab.treatment_mentions(text)]}
        golds = gold.get(doc, [])
        for kind, _t, frags in golds:
            hit = any(s < fe and fs < e for s, e in found[kind] for fs, fe in frags)
            spans[kind].add(0, 0, 1, int(hit))
        for kind, ms in found.items():
            for s, e in ms:
                ok = any(s < fe and fs < e for k, _t, frags in golds if k == kind for fs, fe in frags)
                spans[kind].add(1, int(ok), 0, 0)
    return SpanReport(name, len(texts), spans)


def half_of(doc: str) -> int:
    return int(hashlib.sha256(doc.encode("utf-8")).hexdigest(), 16) % 2


def lexicon_from(texts_gold: Gold, docs: Iterable[str], base: Vocabulary = BUILTIN) -> Vocabulary:
    """The built-in vocabulary plus every evidence span of `docs` as a synonym (what a clinic's file would add)."""
    diag: set[str] = set()
    proc: set[str] = set()
    for doc in docs:
        for kind, text, _f in texts_gold.get(doc, []):
            t = " ".join(text.split())
            if len(t) >= 3:
                (diag if kind == "diagnosis" else proc).add(t)
    extra_d = Term("codiesp_diagnosis", "diagnóstico (CodiEsp)", "diagnosis (CodiEsp)", tuple(sorted(diag)))
    extra_p = Term("codiesp_procedure", "procedimiento (CodiEsp)", "procedure (CodiEsp)", tuple(sorted(proc)))
    return Vocabulary(base.diagnoses + (extra_d,), base.treatments + (extra_p,), tuple(base.measures.values()))


def evaluate_codiesp(folder: Path, *, lexicon_split: bool = False, limit: int | None = None) -> list[SpanReport]:
    texts, gold = read_codiesp(folder)
    if limit:
        texts = dict(list(texts.items())[:limit])
    if not lexicon_split:
        return [span_recall(f"CodiEsp {folder.name} (built-in lexicon)", texts, gold, BUILTIN)]
    a = [d for d in texts if half_of(d) == 0]
    b = {d: t for d, t in texts.items() if half_of(d) == 1}
    return [span_recall(f"CodiEsp {folder.name} half B (built-in lexicon)", b, gold, BUILTIN),
            span_recall(f"CodiEsp {folder.name} half B (built-in + half A span lexicon)", b, gold, lexicon_from(gold, a))]


def _coder_report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    from eval import coding_eval

    languages = tuple(dict.fromkeys(args.language or ("es", "en")))
    if args.train and args.folds:
        parser.error("give --train DIR (DIR is then held out) or --folds K (cross-validation within DIR), not both")
    if args.train or args.folds:
        return coding_eval.evaluate(args.codiesp, train_dirs=args.train, folds=args.folds, languages=languages,
                                    negation=not args.keep_negated, progress=lambda m: print(m, file=sys.stderr))
    from casewise.settings import load_settings
    from indexing.coding.coder import load_coder

    coder = load_coder(load_settings().data_dir)
    if coder is None:
        parser.error("no ICD-10 coder is installed: give --train DIR or --folds K, or learn one with "
                     "`casewise learn --codes DIR`")
    return coding_eval.evaluate_coder(args.codiesp, coder, languages=languages)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None, *, extractor: Extractor | None = None,
         deid: Deidentifier | None = None) -> int:
    """`casewise eval extract --synth [DIR] | --codiesp DIR [--lexicon-split] [--no-deid] [--limit N] [--json]`."""
    parser = argparse.ArgumentParser(prog="casewise eval extract", description="Measure extraction quality")
    parser.add_argument("--synth", nargs="?", const="", default=None, type=str,
                        help="synthetic clinic folder (default: the bundled sample)")
    parser.add_argument("--codiesp", type=Path, help="CodiEsp split folder (text_files/ + *X.tsv)")
    parser.add_argument("--lexicon-split", action="store_true", help="CodiEsp: also measure a half-A span lexicon on half B")
    parser.add_argument("--spans", action="store_true", help="CodiEsp: span recall of the built-in lexicon instead of "
                        "the ICD-10 coder")
    parser.add_argument("--train", type=Path, action="append", default=[],
                        help="CodiEsp: folder(s) the coder learns from (repeatable); DIR is scored")
    parser.add_argument("--folds", type=int, default=None, help="CodiEsp: cross-validate the coder within DIR")
    parser.add_argument("--language", choices=("es", "en"), action="append", help="CodiEsp: default both")
    parser.add_argument("--keep-negated", action="store_true", help="CodiEsp: code negated mentions too")
    parser.add_argument("--no-deid", action="store_true", help="synth: extract from raw text (then dates are scored)")
    parser.add_argument("--limit", type=int, default=None, help="first N patients / documents only")
    parser.add_argument("--backend", choices=("rules", "llm"), default="rules",
                        help="synth: the extractor (llm: the llm.* server of the settings, rules as fallback)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.synth is None and args.codiesp is None:
        parser.error("give --synth [DIR] and/or --codiesp DIR")
    reports: list[Any] = []
    if args.synth is not None:
        from synth import SAMPLE_DIR

        folder = Path(args.synth) if args.synth else Path(SAMPLE_DIR)
        if not (folder / "ground_truth.json").is_file():
            parser.error(f"{folder}: no ground_truth.json (a folder written by `casewise synth`)")
        if deid is None and not args.no_deid:
            from casewise.settings import load_settings
            from indexing.deid import Deidentifier

            deid = Deidentifier(load_settings().deid)
        if extractor is None and args.backend == "llm":
            from casewise.settings import load_settings
            from indexing.extraction import make_extractor

            settings = load_settings()
            extractor = make_extractor(settings.model_copy(
                update={"extract": settings.extract.model_copy(update={"backend": "llm"})}))
        reports.append(evaluate_synth(folder, extractor or RulesExtractor(), deid=None if args.no_deid else deid,
                                      limit=args.limit))
    if args.codiesp is not None:
        if not (args.codiesp / "text_files").is_dir():
            parser.error(f"{args.codiesp}: expected a CodiEsp split folder with text_files/ and *X.tsv")
        if args.spans or args.lexicon_split:
            reports.extend(evaluate_codiesp(args.codiesp, lexicon_split=args.lexicon_split, limit=args.limit))
        else:
            reports.append(_coder_report(args, parser))
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(r.table() for r in reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
