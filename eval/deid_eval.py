"""Measure de-identification: recall, precision, F1 and leak rate on MEDDOCAN (brat) and Presidio's synthetic set.

MEDDOCAN's 22 types include things Casewise keeps on purpose (sex, country, profession, ages under 90, kinship words
such as "madre", bare years) and institutions (removed unless deid.remove_institutions is off). Each gold span is
therefore marked in scope or not by the policy of the Deidentifier under test; headline figures use in-scope spans, and
tokens inside out-of-scope spans count neither for nor against precision. Figures over all gold spans are reported too.
MEDDOCAN's gold also labels descriptors such as "lactante", "raza negra" or "homosexual" as ID_SUJETO_ASISTENCIA (its
guidelines put them under OTROS_SUJETO_ASISTENCIA, which the policy keeps); an identifier span without a digit is
therefore out of scope, and so is a date that is only a year or a weekday (in both sets). Per type, `token_recall` counts every gold token and `in_scope_token_recall` only in-scope
ones; `per_entity` groups in-scope tokens by Casewise type (PERSON = all name types, ID = all identifier types).

Span metrics are type-agnostic (a name removed as an address is still removed): exact = same offsets,
overlap = any shared character. Token metrics use word tokens (\\w+). Leak rate = share of in-scope gold PHI
characters (non-space) not covered by a replaced span, i.e. still in the output text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexing.deid import Deidentifier, PhiSpan
from indexing.deid.lexicon import COUNTRY_NAMES, KINSHIP, fold

MEDDOCAN_TO_ENTITY: dict[str, str | None] = {
    "NOMBRE_SUJETO_ASISTENCIA": "PERSON",
    "NOMBRE_PERSONAL_SANITARIO": "PERSON",
    "FAMILIARES_SUJETO_ASISTENCIA": "PERSON",
    "ID_SUJETO_ASISTENCIA": "ID",
    "ID_TITULACION_PERSONAL_SANITARIO": "ID",
    "ID_ASEGURAMIENTO": "ID",
    "ID_CONTACTO_ASISTENCIAL": "ID",
    "ID_EMPLEO_PERSONAL_SANITARIO": "ID",
    "IDENTIF_VEHICULOS_NRSERIE_PLACAS": "ID",
    "IDENTIF_DISPOSITIVOS_NRSERIE": "ID",
    "NUMERO_BENEF_PLAN_SALUD": "ID",
    "NUMERO_TELEFONO": "PHONE",
    "NUMERO_FAX": "PHONE",
    "CORREO_ELECTRONICO": "EMAIL",
    "URL_WEB": "URL",
    "DIREC_PROT_INTERNET": "IP",
    "CALLE": "ADDRESS",
    "TERRITORIO": "LOCATION",
    "FECHAS": "DATE",
    "EDAD_SUJETO_ASISTENCIA": "AGE_OVER_89",
    "HOSPITAL": "INSTITUTION",
    "INSTITUCION": "INSTITUTION",
    "CENTRO_SALUD": "INSTITUTION",
    "SEXO_SUJETO_ASISTENCIA": None,
    "PAIS": None,
    "PROFESION": None,
    "OTROS_SUJETO_ASISTENCIA": None,
}
PRESIDIO_TO_ENTITY: dict[str, str | None] = {
    "PERSON": "PERSON", "STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION", "ORGANIZATION": "INSTITUTION",
    "CREDIT_CARD": "ID", "DATE_TIME": "DATE", "TITLE": None, "PHONE_NUMBER": "PHONE", "AGE": "AGE_OVER_89",
    "NRP": None, "EMAIL_ADDRESS": "EMAIL", "ZIP_CODE": "POSTAL_CODE", "DOMAIN_NAME": "URL", "IBAN_CODE": "ID",
    "US_SSN": "ID", "IP_ADDRESS": "IP", "US_DRIVER_LICENSE": "ID",
}
# The direct identifiers issue 21's acceptance groups (person, location, address, postal code, phone, e-mail, id):
# their in-scope tokens together give one recall figure.
DIRECT_IDENTIFIERS = ("PERSON", "LOCATION", "ADDRESS", "POSTAL_CODE", "PHONE", "EMAIL", "ID")
_TOKEN = re.compile(r"\w+")
_ANN = re.compile(r"^(T\d+)\t(\S+) (\d+(?:;\d+ \d+)*) (\d+)\t(.*)$")


@dataclass(frozen=True, slots=True)
class GoldSpan:
    """One annotated PHI span of a document."""

    type: str
    start: int
    end: int
    in_scope: bool


@dataclass
class Scores:
    """Counts and the recall/precision/F1 derived from them."""

    tp: int = 0
    gold: int = 0
    pred_tp: int = 0
    pred: int = 0

    @property
    def recall(self) -> float | None:
        return self.tp / self.gold if self.gold else None

    @property
    def precision(self) -> float | None:
        return self.pred_tp / self.pred if self.pred else None

    @property
    def f1(self) -> float | None:
        r, p = self.recall, self.precision
        if r is None or p is None or r + p == 0:
            return None
        return 2 * r * p / (r + p)

    def to_dict(self) -> dict[str, Any]:
        """Counts and ratios."""
        return {"gold": self.gold, "tp": self.tp, "pred": self.pred, "pred_tp": self.pred_tp,
                "recall": self.recall, "precision": self.precision, "f1": self.f1}


@dataclass
class DeidReport:
    """Results of one evaluation run."""

    dataset: str
    documents: int
    token: Scores = field(default_factory=Scores)
    span_exact: Scores = field(default_factory=Scores)
    span_overlap: Scores = field(default_factory=Scores)
    token_all_gold: Scores = field(default_factory=Scores)
    per_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_entity: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_pred_type_precision: dict[str, float | None] = field(default_factory=dict)
    leak_rate: float | None = None
    leaked_chars: int = 0
    gold_chars: int = 0
    out_of_scope_types: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes_per_s: float | None = None

    @property
    def direct_identifier_recall(self) -> float | None:
        """In-scope token recall over DIRECT_IDENTIFIERS together."""
        rows = [self.per_entity[t] for t in DIRECT_IDENTIFIERS if t in self.per_entity]
        tokens = sum(r["tokens"] for r in rows)
        hit = sum(r["tokens"] * (r["token_recall"] or 0.0) for r in rows)
        return hit / tokens if tokens else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        d = asdict(self)
        for k in ("token", "span_exact", "span_overlap", "token_all_gold"):
            d[k] = getattr(self, k).to_dict()
        d["direct_identifier_recall"] = self.direct_identifier_recall
        return d

    def table(self) -> str:
        """A plain-text table for the terminal."""
        def f(x: float | None) -> str:
            return "   -  " if x is None else f"{x:6.3f}"

        lines = [(f"{self.dataset}: {self.documents} documents, {self.notes_per_s or 0:.1f} notes/s, "
                  f"leak rate {f(self.leak_rate).strip()} ({self.leaked_chars}/{self.gold_chars} chars)")]
        lines.append(f"{'level':<22}{'recall':>8}{'prec':>8}{'F1':>8}{'gold':>8}")
        for name, s in (("token (in scope)", self.token), ("span exact", self.span_exact),
                        ("span overlap", self.span_overlap), ("token (all gold)", self.token_all_gold)):
            lines.append(f"{name:<22}{f(s.recall):>8}{f(s.precision):>8}{f(s.f1):>8}{s.gold:>8}")
        lines.append(f"{'type':<36}{'scope':>6}{'tok_R':>8}{'inscR':>8}{'exact_R':>8}{'ovl_R':>8}{'spans':>7}")
        for t, row in sorted(self.per_type.items(), key=lambda kv: -kv[1]["spans"]):
            lines.append(f"{t:<36}{'yes' if row['in_scope'] else 'no':>6}{f(row['token_recall']):>8}"
                         f"{f(row['in_scope_token_recall']):>8}"
                         f"{f(row['exact_recall']):>8}{f(row['overlap_recall']):>8}{row['spans']:>7}")
        if self.per_entity:
            lines.append("in-scope token recall by Casewise type: " + ", ".join(
                f"{t} {f(row['token_recall']).strip()} ({row['tokens']})" for t, row in sorted(self.per_entity.items())))
        if self.direct_identifier_recall is not None:
            lines.append(f"in-scope token recall of person, location, address, postal code, phone, e-mail and id "
                         f"together: {f(self.direct_identifier_recall).strip()}")
        if self.per_pred_type_precision:
            lines.append("token precision by predicted type: " + ", ".join(
                f"{t} {f(p).strip()}" for t, p in sorted(self.per_pred_type_precision.items())))
        return "\n".join(lines)


def _meddocan_in_scope(gtype: str, text: str, entities: frozenset[str]) -> bool:
    entity = MEDDOCAN_TO_ENTITY.get(gtype)
    if entity is None or entity not in entities:
        return False
    if gtype == "EDAD_SUJETO_ASISTENCIA":
        m = re.search(r"\d+", text)
        return m is not None and int(m.group()) > 89 and not re.search(r"(?i)mes|sem|d[ií]a|month|week|day", text)
    if gtype == "FAMILIARES_SUJETO_ASISTENCIA":
        return any(w[0].isupper() and fold(w) not in KINSHIP for w in _TOKEN.findall(text))
    if gtype == "FECHAS":
        return _date_in_scope(text)
    if entity == "ID":
        return any(ch.isdigit() for ch in text)
    return True


_YEAR_OR_WEEKDAY = re.compile(
    r"(?i)(?:(?:el\s+)?año\s+|en\s+|in\s+)?(?:19|20)\d\d|lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|"
    r"domingo|monday|tuesday|wednesday|thursday|friday|saturday|sunday")


def _date_in_scope(text: str) -> bool:
    """A bare year or a weekday is kept by policy (HIPAA Safe Harbor keeps years; a weekday dates nothing)."""
    return not _YEAR_OR_WEEKDAY.fullmatch(text.strip())


_COUNTRY_RE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(c) for c in sorted(COUNTRY_NAMES, key=len, reverse=True))
                         + r")(?!\w)", re.IGNORECASE)


def kept_countries(text: str, gold: Sequence[GoldSpan]) -> list[tuple[int, int]]:
    """Country names inside in-scope gold spans ("Tunisia", "..., Czech Republic 33156"): Casewise keeps countries
    (HIPAA Safe Harbor removes geographic units smaller than a state; a country identifies no one), so their tokens
    are out of scope, like MEDDOCAN's PAIS."""
    out: list[tuple[int, int]] = []
    for g in gold:
        if g.in_scope and MEDDOCAN_TO_ENTITY.get(g.type, PRESIDIO_TO_ENTITY.get(g.type)) in ("LOCATION", "ADDRESS"):
            out.extend((g.start + m.start(), g.start + m.end()) for m in _COUNTRY_RE.finditer(text[g.start:g.end]))
    return out


def read_brat(folder: Path, limit: int | None = None) -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    """(doc id, text, [(type, start, end)]) for each *.txt with its *.ann in `folder` (sorted by name)."""
    docs = []
    for txt in sorted(folder.glob("*.txt"))[: limit if limit else None]:
        ann = txt.with_suffix(".ann")
        spans: list[tuple[str, int, int]] = []
        if ann.exists():
            for line in ann.read_text(encoding="utf-8").splitlines():
                m = _ANN.match(line)
                if not m:
                    continue
                offsets = [int(x) for x in re.findall(r"\d+", m.group(3) + " " + m.group(4))]
                for i in range(0, len(offsets) - 1, 2):  # discontinuous spans: "s1 e1;s2 e2"
                    spans.append((m.group(2), offsets[i], offsets[i + 1]))
        docs.append((txt.stem, txt.read_text(encoding="utf-8"), spans))
    return docs


class _Accumulator:
    def __init__(self) -> None:
        self.token = Scores()
        self.token_all = Scores()
        self.exact = Scores()
        self.overlap = Scores()
        self.type_spans: Counter[str] = Counter()
        self.type_exact: Counter[str] = Counter()
        self.type_overlap: Counter[str] = Counter()
        self.type_tokens: Counter[str] = Counter()
        self.type_tokens_hit: Counter[str] = Counter()
        self.type_tokens_in: Counter[str] = Counter()
        self.type_tokens_in_hit: Counter[str] = Counter()
        self.type_scope: dict[str, bool] = {}
        self.pred_type_tokens: Counter[str] = Counter()
        self.pred_type_tokens_ok: Counter[str] = Counter()
        self.leaked = 0
        self.gold_chars = 0

    def add(self, text: str, gold: Sequence[GoldSpan], pred: Sequence[PhiSpan],
            kept: Sequence[tuple[int, int]] = ()) -> None:
        """`kept`: character ranges inside gold spans that the policy keeps (a country in an address): their tokens
        count neither for nor against, as out-of-scope spans do."""
        covered = bytearray(len(text))
        for p in pred:
            covered[p.start:p.end] = b"\x01" * (p.end - p.start)
        keep = bytearray(len(text))
        for s, e in kept:
            keep[s:e] = b"\x01" * (e - s)
        in_gold = [g for g in gold if g.in_scope]
        out_gold = [g for g in gold if not g.in_scope]
        pred_offsets = {(p.start, p.end) for p in pred}
        for g in gold:
            self.type_scope[g.type] = self.type_scope.get(g.type, False) or g.in_scope
            self.type_spans[g.type] += 1
            exact = (g.start, g.end) in pred_offsets
            overlap = any(covered[g.start:g.end])
            self.type_exact[g.type] += exact
            self.type_overlap[g.type] += overlap
            if g.in_scope:
                self.exact.gold += 1
                self.overlap.gold += 1
                self.exact.tp += exact
                self.overlap.tp += overlap
                for i in range(g.start, g.end):
                    if not text[i].isspace() and not keep[i]:
                        self.gold_chars += 1
                        self.leaked += not covered[i]
        for p in pred:
            hits_in = [g for g in in_gold if g.start < p.end and p.start < g.end]
            hits_out = [g for g in out_gold if g.start < p.end and p.start < g.end]
            if not hits_in and hits_out:
                continue  # removing something the policy keeps is neither right nor wrong here
            self.exact.pred += 1
            self.overlap.pred += 1
            self.exact.pred_tp += any(g.start == p.start and g.end == p.end for g in hits_in)
            self.overlap.pred_tp += bool(hits_in)
        for m in _TOKEN.finditer(text):
            s, e = m.span()
            if any(keep[s:e]):
                continue
            predicted = any(covered[s:e])
            g_in = [g for g in in_gold if g.start < e and s < g.end]
            g_out = [g for g in out_gold if g.start < e and s < g.end]
            g_any = g_in or g_out
            for g in {g.type: g for g in g_any}.values():
                self.type_tokens[g.type] += 1
                self.type_tokens_hit[g.type] += predicted
            for t in {g.type for g in g_in}:
                self.type_tokens_in[t] += 1
                self.type_tokens_in_hit[t] += predicted
            if g_any:
                self.token_all.gold += 1
                self.token_all.tp += predicted
            if predicted:
                self.token_all.pred += 1
                self.token_all.pred_tp += bool(g_any)
            if g_out and not g_in:
                continue
            if g_in:
                self.token.gold += 1
                self.token.tp += predicted
            if predicted:
                self.token.pred += 1
                self.token.pred_tp += bool(g_in)
                for p in pred:
                    if p.start < e and s < p.end:
                        self.pred_type_tokens[p.type] += 1
                        self.pred_type_tokens_ok[p.type] += bool(g_in)
                        break

    def report(self, dataset: str, documents: int, seconds: float,
               entity_of: dict[str, str | None] | None = None) -> DeidReport:
        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        by_entity: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for t, n in self.type_tokens_in.items():
            entity = (entity_of or {}).get(t)
            if entity:
                by_entity[entity][0] += n
                by_entity[entity][1] += self.type_tokens_in_hit[t]
        per_type = {
            t: {"in_scope": self.type_scope[t], "spans": n, "tokens": self.type_tokens[t],
                "token_recall": ratio(self.type_tokens_hit[t], self.type_tokens[t]),
                "in_scope_tokens": self.type_tokens_in[t],
                "in_scope_token_recall": ratio(self.type_tokens_in_hit[t], self.type_tokens_in[t]),
                "exact_recall": ratio(self.type_exact[t], n), "overlap_recall": ratio(self.type_overlap[t], n)}
            for t, n in self.type_spans.items()
        }
        return DeidReport(
            dataset=dataset, documents=documents, token=self.token, span_exact=self.exact,
            span_overlap=self.overlap, token_all_gold=self.token_all, per_type=per_type,
            per_entity={e: {"tokens": n, "token_recall": ratio(hit, n)} for e, (n, hit) in sorted(by_entity.items())},
            per_pred_type_precision={t: ratio(self.pred_type_tokens_ok[t], n) for t, n in self.pred_type_tokens.items()},
            leak_rate=ratio(self.leaked, self.gold_chars), leaked_chars=self.leaked, gold_chars=self.gold_chars,
            out_of_scope_types=sorted(t for t, s in self.type_scope.items() if not s), seconds=seconds,
            notes_per_s=documents / seconds if seconds > 0 else None,
        )


def evaluate_meddocan(dir: Path, deid: Deidentifier, *, limit: int | None = None, language: str | None = "es",
                      batch_size: int = 32) -> DeidReport:
    """Evaluate `deid` on a MEDDOCAN-style brat folder (*.txt + *.ann)."""
    folder = Path(dir)
    docs = read_brat(folder, limit)
    deid.deidentify("Texto de calentamiento.", language="es")  # build the analyzers outside the timed part
    t0 = time.perf_counter()
    results = deid.deidentify_many([text for _, text, _ in docs], language=language, batch_size=batch_size)
    seconds = time.perf_counter() - t0
    acc = _Accumulator()
    for (_, text, spans), result in zip(docs, results):
        gold = [GoldSpan(t, s, e, _meddocan_in_scope(t, text[s:e], deid.entities)) for t, s, e in spans]
        acc.add(text, gold, result.spans)
    return acc.report(f"meddocan:{folder}", len(docs), seconds, MEDDOCAN_TO_ENTITY)


def _load_presidio_records(file: Path) -> list[dict[str, Any]]:
    raw = Path(file).read_text(encoding="utf-8").strip()
    if raw.startswith("["):
        data = json.loads(raw)
    else:
        data = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [d for d in data if isinstance(d, dict) and "full_text" in d]


# Presidio's synthetic set is split in two halves by record order: rules are tuned on the first ("tune") and the
# second ("report") is read only to report, so a figure on it says how the rules do on notes they were not fitted to.
PRESIDIO_PARTS = ("all", "tune", "report")


def presidio_part(records: Sequence[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    """The records of one part: "tune" the first half (records 0-749 of the 1,500), "report" the second, "all"."""
    if part not in PRESIDIO_PARTS:
        raise ValueError(f"presidio part must be one of {list(PRESIDIO_PARTS)}, not {part!r}")
    half = (len(records) + 1) // 2
    return list(records[:half] if part == "tune" else records[half:] if part == "report" else records)


def evaluate_presidio_synth(file: Path, deid: Deidentifier, *, limit: int | None = None,
                            part: str = "all") -> DeidReport:
    """Evaluate `deid` on Presidio's synthetic English set (a JSON array or one JSON object per line); `part`:
    "tune" (first half), "report" (second half) or "all" (`limit` applies within the part)."""
    records = presidio_part(_load_presidio_records(file), part)[: limit if limit else None]
    deid.deidentify("Warm-up text.", language="en")
    t0 = time.perf_counter()
    results = deid.deidentify_many([r["full_text"] for r in records], language="en")
    seconds = time.perf_counter() - t0
    acc = _Accumulator()
    for rec, result in zip(records, results):
        gold = []
        for s in rec.get("spans") or []:
            entity = PRESIDIO_TO_ENTITY.get(s["entity_type"])
            in_scope = entity is not None and entity in deid.entities
            if entity == "DATE":
                in_scope = in_scope and _date_in_scope(s.get("entity_value", ""))
            if entity == "AGE_OVER_89":
                m = re.search(r"\d+", s.get("entity_value", ""))
                in_scope = m is not None and int(m.group()) > 89
            gold.append(GoldSpan(s["entity_type"], int(s["start_position"]), int(s["end_position"]), in_scope))
        acc.add(rec["full_text"], gold, result.spans, kept_countries(rec["full_text"], gold))
    name = f"presidio_synth:{Path(file).name}" + ("" if part == "all" else f"[{part}]")
    return acc.report(name, len(records), seconds, PRESIDIO_TO_ENTITY)


def _default_deidentifier() -> Deidentifier:
    from casewise.settings import load_settings

    return Deidentifier(load_settings().deid)


def main(argv: Sequence[str] | None = None, deid: Deidentifier | None = None) -> int:
    """`casewise eval deid --meddocan DIR [--presidio FILE [--presidio-part tune|report|all]] [--json] [--limit N]`."""
    parser = argparse.ArgumentParser(prog="casewise eval deid", description="Measure de-identification recall/precision")
    parser.add_argument("--meddocan", type=Path, action="append", default=[],
                        help="MEDDOCAN-style brat folder (*.txt + *.ann); repeat for train and dev")
    parser.add_argument("--presidio", type=Path, help="Presidio synthetic JSON file")
    parser.add_argument("--presidio-part", choices=PRESIDIO_PARTS, default="all",
                        help="which records of the Presidio set: tune (first half, where rules are fitted), "
                             "report (second half, held out) or all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N documents of each set")
    parser.add_argument("--report", type=Path, default=None, help="also write an HTML/JSON/Markdown report run there")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not args.meddocan and not args.presidio:
        parser.error("give --meddocan DIR and/or --presidio FILE")
    for folder in args.meddocan:
        if not folder.is_dir() or not any(folder.glob("*.txt")):
            parser.error(f"{folder}: not a folder of *.txt/*.ann (brat) files")
    if args.presidio and not args.presidio.is_file():
        parser.error(f"{args.presidio}: file not found")
    deid = deid or _default_deidentifier()
    reports: list[DeidReport] = [evaluate_meddocan(f, deid, limit=args.limit) for f in args.meddocan]
    if args.presidio:
        reports.append(evaluate_presidio_synth(args.presidio, deid, limit=args.limit, part=args.presidio_part))
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(r.table() for r in reports))
    if args.report:
        from eval.report.public_sets import write_deid_report

        print(f"report: {write_deid_report([r.to_dict() for r in reports], args.report) / 'report.html'}",
              file=sys.stderr)
    return 0




if __name__ == "__main__":
    sys.exit(main())
