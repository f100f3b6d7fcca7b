"""The learned coder: one lexicon per language, with calibrated thresholds, saved as one versioned JSON file."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casewise.errors import ConfigError, InputFileError
from indexing.coding.lexicon import Lexicon, Sense
from indexing.coding.rerank import (
    Reranker,
    Support,
    combine,
    features,
)

FORMAT = "casewise-icd10-coder"
VERSION = 1
KINDS = ("diagnosis", "procedure")
SYSTEMS = {"diagnosis": "ICD-10-CM", "procedure": "ICD-10-PCS"}
CATEGORY_LEN = {"diagnosis": 3, "procedure": 4}  # CodiEsp's categories: ICD-10 category, ICD-10-PCS first 4 axes
SOURCE_LETTER = {"span": "s", "term": "t", "translated": "x", "scattered": "w"}
PRIOR_WEIGHT = 1.0  # pseudo-notes of the prior in a sense's confidence
MODEL_NAME = f"icd10-coder-v{VERSION}.json.gz"  # in <data_dir>/coding/, written by `casewise learn --codes`
# The default when the data folder holds none: learned from CodiEsp train (CC BY 4.0; see data/README.md).
BUNDLED = Path(__file__).parent / "data" / f"icd10-coder-codiesp-v{VERSION}.json.gz"


def model_path(data_dir: Path) -> Path:
    """Where `casewise learn --codes` writes the data folder's coder, and where indexing looks for it first."""
    return Path(data_dir) / "coding" / MODEL_NAME


@dataclass
class LanguageModel:
    lexicon: Lexicon
    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.5))
    priors: dict[str, float] = field(default_factory=dict)  # '<kind>/<source>' -> precision of untested senses
    rerankers: dict[str, Reranker] = field(default_factory=dict)  # kind -> a code's confidence from its support
    code_notes: dict[str, int] = field(default_factory=dict)  # code -> learning notes coded with it
    notes: int = 0  # learning notes with a text in this language

    def confidence(self, sense: Sense) -> float:
        """Precision the sense showed on the learning notes, shrunk towards its prior."""
        prior = self.priors.get(f"{sense.kind}/{sense.source}", 0.5)
        return (sense.hits + PRIOR_WEIGHT * prior) / (sense.fires + PRIOR_WEIGHT)

    def code_confidence(self, kind: str, code: str, supports: list[Support], *, mentions: int, rivals: int) -> float:
        """A code's confidence in a note: the reranker's where one was learned, else its terms' noisy-or."""
        reranker = self.rerankers.get(kind)
        if reranker is None:
            return combine([s.confidence for s in supports])
        return reranker.score(features(supports, mentions=mentions, code_notes=self.code_notes.get(code, 0),
                                       notes=self.notes, rivals=rivals))


@dataclass
class CoderModel:
    languages: dict[str, LanguageModel]
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> code -> label
    meta: dict[str, Any] = field(default_factory=dict)
    negation: bool = True  # leave negated and ruled-out mentions uncoded

    def label(self, code: str, language: str) -> str:
        for lang in (language, "en", "es"):
            if code in self.labels.get(lang, {}):
                return self.labels[lang][code]
        from indexing.coding.terminology import labels

        return labels(language).get(code, "")

    def to_json(self) -> dict[str, Any]:
        langs = {}
        for lang, lm in self.languages.items():
            rows, scattered = ([[" ".join(term), s.kind[0], s.code, SOURCE_LETTER[s.source], s.notes, s.hits, s.fires]
                                for term, senses in table.items() for s in senses.values()]
                               for table in (lm.lexicon.terms, lm.lexicon.scattered))
            langs[lang] = {"thresholds": lm.thresholds, "priors": lm.priors, "senses": rows, "scattered": scattered,
                           "rerankers": {k: r.to_json() for k, r in lm.rerankers.items()},
                           "code_notes": lm.code_notes, "notes": lm.notes}
        return {"format": FORMAT, "version": VERSION, "meta": self.meta, "negation": self.negation,
                "labels": self.labels, "languages": langs}

    @classmethod
    def from_json(cls, data: dict[str, Any], *, source: str = "model") -> CoderModel:
        if data.get("format") != FORMAT:
            raise InputFileError(source, f"not a Casewise coder model (format {data.get('format')!r})")
        if data.get("version") != VERSION:
            raise InputFileError(source, f"coder model version {data.get('version')} is not {VERSION}: "
                                         "learn it again with `casewise learn --codes DIR`")
        kinds = {k[0]: k for k in KINDS}
        sources = {v: k for k, v in SOURCE_LETTER.items()}
        languages = {}
        for lang, block in data["languages"].items():
            lex = Lexicon()
            for table, rows in ((lex.terms, block["senses"]), (lex.scattered, block.get("scattered", []))):
                for term, kind, code, src, notes, hits, fires in rows:
                    key = tuple(term.split(" "))
                    sense = Sense(kinds[kind], code, sources[src], notes, hits, fires)
                    table.setdefault(key, {})[(sense.kind, code)] = sense
            lex.max_len = max((len(k) for k in lex.terms), default=1)
            languages[lang] = LanguageModel(
                lex, dict(block["thresholds"]), dict(block["priors"]),
                {k: Reranker.from_json(r) for k, r in block.get("rerankers", {}).items()},
                dict(block.get("code_notes", {})), int(block.get("notes", 0)))
        return cls(languages, data.get("labels", {}), data.get("meta", {}), bool(data.get("negation", True)))

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, ensure_ascii=False, separators=(",", ":"))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> CoderModel:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no coder model there; learn one with `casewise learn --codes DIR`")
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputFileError(str(path), f"unreadable coder model ({exc.__class__.__name__})") from exc
        return cls.from_json(data, source=str(path))
