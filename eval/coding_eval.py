"""Measure the ICD-10 coder as CodiEsp does: micro P/R/F1 over (note, code) pairs on full codes and on categories,
and MAP over each note's ranked codes, per language (Spanish notes, English translations) and kind.

Held-out notes only: either a test folder the coder did not learn from (`train_dirs` + `test_dir`), or K-fold
cross-validation within one folder: a note's fold is sha256(note id) mod K, so folds are fixed, independent of
file order and of the machine, and every note is scored exactly once by a coder learned from the other K-1 folds.
Thresholds are calibrated inside each learning set (leave-one-note-out), never on the fold being scored.

    python -m eval.coding_eval --codiesp ../shared/data/codiesp/train --folds 5 [--json]
    python -m eval.coding_eval --codiesp TEST_DIR --train TRAIN_DIR [--train DIR ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexing.coding.coder import LexiconCoder
from indexing.coding.codiesp import CodedNote, read_folder, read_folders
from indexing.coding.learn import LANGUAGES, aligner, learn_model, project_english
from indexing.coding.model import CATEGORY_LEN, KINDS


@dataclass
class PRF:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: set[str], gold: set[str]) -> None:
        self.tp += len(predicted & gold)
        self.predicted += len(predicted)
        self.gold += len(gold)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3)}


@dataclass
class KindScore:
    full: PRF = field(default_factory=PRF)
    category: PRF = field(default_factory=PRF)
    ap_sum: float = 0.0
    notes: int = 0

    @property
    def map(self) -> float:
        return self.ap_sum / self.notes if self.notes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"full": self.full.to_dict(), "category": self.category.to_dict(), "map": round(self.map, 3),
                "notes": self.notes}


@dataclass
class CodingReport:
    how: str
    notes: int
    scores: dict[str, dict[str, KindScore]] = field(default_factory=dict)  # language -> kind -> score
    learn_seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"how": self.how, "notes": self.notes, "learn_seconds": [round(s, 1) for s in self.learn_seconds],
                "scores": {lang: {k: s.to_dict() for k, s in kinds.items()} for lang, kinds in self.scores.items()}}

    def table(self) -> str:
        lines = [self.how, (f"{'lang':4} {'kind':9} {'full P':>6} {'R':>5} {'F1':>5}   {'cat P':>5} {'R':>5} {'F1':>5}"
                           f"   {'MAP':>5}  notes")]
        for lang, kinds in self.scores.items():
            for kind, s in kinds.items():
                f, c = s.full, s.category
                lines.append(f"{lang:4} {kind:9} {f.precision:6.3f} {f.recall:5.3f} {f.f1:5.3f}   {c.precision:5.3f} "
                             f"{c.recall:5.3f} {c.f1:5.3f}   {s.map:5.3f}  {s.notes}")
        if self.learn_seconds:
            lines.append(f"learning: {max(self.learn_seconds):.0f} s at most per fold "
                         f"({len(self.learn_seconds)} run{'s' if len(self.learn_seconds) > 1 else ''})")
        return "\n".join(lines)


def average_precision(ranked: Sequence[str], gold: set[str]) -> float:
    """CodiEsp's AP: precision at each rank holding a gold code, summed over the note's gold codes."""
    if not gold:
        return 0.0
    hits, total, seen = 0, 0.0, set()
    for k, code in enumerate(ranked, 1):
        if code in seen:
            continue
        seen.add(code)
        if code in gold:
            hits += 1
            total += hits / k
    return total / len(gold)


def fold_of(note_id: str, k: int) -> int:
    return int(hashlib.sha256(note_id.encode("utf-8")).hexdigest(), 16) % k


def score_notes(coder: LexiconCoder, notes: Sequence[CodedNote], languages: Sequence[str] = LANGUAGES,
                kinds: Sequence[str] = KINDS, into: dict[str, dict[str, KindScore]] | None = None
                ) -> dict[str, dict[str, KindScore]]:
    scores = into if into is not None else {}
    for lang in languages:
        if lang not in coder.model.languages:
            continue
        for note in notes:
            text = note.texts.get(lang)
            if not text:
                continue
            ranked = coder.candidates(text, language=lang)  # type: ignore[arg-type]
            thr = coder.model.languages[lang].thresholds
            for kind in kinds:
                s = scores.setdefault(lang, {}).setdefault(kind, KindScore())
                gold = note.codes(kind)
                mine = [c for c in ranked if c.kind == kind]
                kept = {c.code for c in coder.keep(mine, thr)}
                s.full.add(kept, gold)
                n = CATEGORY_LEN[kind]
                s.category.add({c[:n] for c in kept}, {c[:n] for c in gold})
                if gold:
                    s.ap_sum += average_precision([c.code for c in mine], gold)
                    s.notes += 1
    return scores


def evaluate(test_dir: Path, *, train_dirs: Sequence[Path] = (), folds: int | None = None,
             languages: Sequence[str] = LANGUAGES, negation: bool = True,
             progress: Callable[[str], None] | None = None) -> CodingReport:
    """Learn on `train_dirs` and score `test_dir`, or cross-validate within `test_dir` with `folds` folds."""
    if bool(train_dirs) == bool(folds):
        raise ValueError("give either train_dirs (a held-out test folder) or folds (cross-validation), not both")
    test = list(read_folder(test_dir).values())
    if folds is not None and (folds < 2 or folds > len(test)):
        raise ValueError(f"folds must be between 2 and the number of notes ({len(test)}), not {folds}")
    train = list(read_folders(train_dirs).values()) if train_dirs else []
    test_ids = {n.note_id for n in test}
    if any(n.note_id in test_ids for n in train):
        raise ValueError("the test folder shares notes with a learning folder: the figures would not be held out")
    translations = None
    if "en" in languages:
        # word translations from the notes' texts (never their codes), then Spanish spans carried to English
        align = aligner(test + train)
        project_english(test + train, align)
        translations = align.translations
    if folds:
        how = (f"{folds}-fold cross-validation within {Path(test_dir).name} ({len(test)} notes; fold = sha256(note id) "
               f"mod {folds}; thresholds calibrated leave-one-note-out inside each learning set)")
        splits = [([n for n in test if fold_of(n.note_id, folds) != f], [n for n in test if fold_of(n.note_id, folds) == f])
                  for f in range(folds)]
    else:
        how = (f"learned on {', '.join(Path(d).name for d in train_dirs)} ({len(train)} notes), "
               f"scored on {Path(test_dir).name} ({len(test)} notes)")
        splits = [(train, test)]
    report = CodingReport(how=how, notes=len(test))
    for i, (learn_on, score_on) in enumerate(splits, 1):
        t0 = time.perf_counter()
        model = learn_model(learn_on, languages=languages, negation=negation, translations=translations)
        report.learn_seconds.append(time.perf_counter() - t0)
        score_notes(LexiconCoder(model), score_on, languages, into=report.scores)
        if progress:
            progress(f"split {i}/{len(splits)}: learned on {len(learn_on)} notes in {report.learn_seconds[-1]:.0f} s, "
                     f"scored {len(score_on)}")
    return report


def evaluate_coder(test_dir: Path, coder: LexiconCoder, *, languages: Sequence[str] = LANGUAGES) -> CodingReport:
    """Score an already learned coder (the one indexing uses) on a folder; says so when it learned from a folder of
    that name, as its figures are then not held out."""
    test = list(read_folder(test_dir).values())
    learned = [str(f) for f in coder.model.meta.get("folders", [])]
    how = (f"the coder in use (learned on {', '.join(learned) or 'unknown folders'}, "
           f"{coder.model.meta.get('notes', '?')} notes), scored on {Path(test_dir).name} ({len(test)} notes)")
    if Path(test_dir).name in learned:
        how += (f"; NOT HELD OUT: it learned from a folder named {Path(test_dir).name}, so these figures are "
                "optimistic: use --folds K or --train DIR")
    report = CodingReport(how=how, notes=len(test))
    score_notes(coder, test, languages, into=report.scores)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.coding_eval", description=__doc__.splitlines()[0])
    ap.add_argument("--codiesp", type=Path, required=True, help="CodiEsp-format folder to score")
    ap.add_argument("--train", type=Path, action="append", default=[], help="folder(s) to learn from")
    ap.add_argument("--folds", type=int, default=None, help="cross-validate within --codiesp with K folds")
    ap.add_argument("--language", choices=LANGUAGES, action="append", help="default: both")
    ap.add_argument("--keep-negated", action="store_true", help="code negated and ruled-out mentions too")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.train and not args.folds:
        args.folds = 5
    report = evaluate(args.codiesp, train_dirs=args.train, folds=args.folds if not args.train else None,
                      languages=tuple(args.language or LANGUAGES), negation=not args.keep_negated,
                      progress=lambda m: print(m, file=sys.stderr))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
