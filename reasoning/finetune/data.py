"""SFT rows in HuatuoGPT-o1's format (`Question`, `Complex_CoT`, `Response`) from the store's de-identified cases.

One row per case: the presentation (sex, age band, diagnosis, baseline scores) -> reasoning over the findings ->
what was done and how it turned out. The source is the cases table of an indexed store, never raw files, so
identifiers were removed before any row exists; the de-identifier's detectors still run over every field and a row
with anything they flag is refused (belt and braces: a clinic label or an LLM-drafted sentence may carry a name).
Rows are split by patient (a case id is the patient's pseudonym, so no patient is on both sides), deduplicated
and length-limited. The reasoning is drafted by the configured LLM where there is one, from a template otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from casewise.errors import CasewiseError, LLMError
from casewise.store import CaseRow, Store
from casewise.types import Case, Language, Outcome, Treatment
from casewise.vocabulary import MEASURES, label

if TYPE_CHECKING:
    from casewise.llm import LLM

log = logging.getLogger(__name__)

PREFERRED_MEASURES = ("VAS", "WOMAC", "KOOS", "LEQUESNE")
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_MAX_CHARS = 6000  # whole row; ~1.7k tokens, well inside the 4k training sequence of the GPU configs
MIN_DRAFT_CHARS = 40  # an LLM draft shorter than this is not reasoning; the template is used instead
DRAFT_MAX_TOKENS = 320
MAX_FOLLOW_UP_MONTHS = 120  # a later time point is an assembly error (a date read as months), not a follow-up

Direction = Literal["improved", "unchanged", "worse"]
CotSource = Literal["llm", "template"]


class DataError(CasewiseError):
    """SFT data cannot be built or read (empty store, bad file)."""


class IdentifierDetector(Protocol):
    """What the data builder needs from the de-identifier (`Runtime.deid`): run its detectors over texts."""

    def deidentify_many(self, texts: Iterable[str], *, language: str | None = None) -> Sequence[_HasSpans]: ...


class _HasSpans(Protocol):
    spans: Sequence[object]


class RowMeta(BaseModel):
    """Where a row came from and what it records; used for the data card and to score held-out answers."""

    case_id: str = Field(description="the patient's keyed pseudonym (split key); never part of the row's text")
    language: Language
    split: Literal["train", "test"]
    diagnoses: list[str] = Field(default_factory=list)
    treatments: list[str] = Field(default_factory=list, description="canonical ids, what the case records as done")
    outcome: Direction | None = Field(None, description="primary measure of the first treatment vs its MCID")
    cot_source: CotSource = "template"


class SFTRow(BaseModel):
    """One training example; the three capitalised keys are HuatuoGPT-o1's SFT_stage1.py format."""

    model_config = ConfigDict(populate_by_name=True)

    Question: str
    Complex_CoT: str
    Response: str
    meta: RowMeta

    def target(self) -> str:
        """The assistant turn the model learns, exactly as HuatuoGPT-o1 writes it."""
        return format_target(self.Complex_CoT, self.Response)


def format_target(cot: str, response: str) -> str:
    return f"## Thinking\n\n{cot}\n\n## Final Response\n\n{response}"


@dataclass
class BuildResult:
    train: list[SFTRow]
    test: list[SFTRow]
    cases_seen: int
    dropped: Counter[str] = field(default_factory=Counter)
    settings: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- wording

_SEX = {"es": {"F": "Mujer", "M": "Varón", None: "Paciente"}, "en": {"F": "Woman", "M": "Man", None: "Patient"}}
_SIDE = {"es": {"right": "derecha", "left": "izquierda", "bilateral": "bilateral"},
         "en": {"right": "right", "left": "left", "bilateral": "bilateral"}}
_W: dict[str, dict[str, Any]] = {
    "es": {
        "aged": "de {age} años", "with": "con", "baseline": "{m} basal {v}", "ask": "¿Qué se hizo y cómo evolucionó?",
        "sessions": "{n} sesión(es)", "treatment": "Tratamiento", "outcome": "Evolución", "ae": "Efectos adversos",
        "none": "ninguno registrado", "no_fu": "sin seguimiento registrado", "at": "a los {m:g} meses",
        "improved": "mejoría clínicamente relevante", "unchanged": "sin cambio clínicamente relevante",
        "worse": "empeoramiento clínicamente relevante",
        "cot_intro": "Se trata de {who} {age} con {dx}.",
        "cot_base": "Al inicio: {scores}.",
        "cot_pain": {"high": "El dolor basal es intenso.", "mid": "El dolor basal es moderado.", "low": "El dolor basal es leve."},
        "cot_tx": "En los registros de la clínica, el tratamiento elegido fue {tx}.",
        "cot_judge": "Para valorar el resultado comparo cada medida con su valor basal y con la diferencia mínima "
                     "clínicamente importante (DMCI).",
        "cot_course": "{m}: {a:g} → {b:g} {at} (cambio {d:+g}; DMCI {mcid:g}), es decir, {verdict}.",
        "cot_no_fu": "No hay medidas de seguimiento, así que el resultado no se puede valorar.",
        "cot_ae": "Efectos adversos registrados: {ae}.",
        "cot_end": "Conclusión para {tx}: {verdict}.",
        "unknown_course": "resultado no valorable",
    },
    "en": {
        "aged": "aged {age}", "with": "with", "baseline": "baseline {m} {v}", "ask": "What was done and how did it turn out?",
        "sessions": "{n} session(s)", "treatment": "Treatment", "outcome": "Outcome", "ae": "Adverse events",
        "none": "none recorded", "no_fu": "no follow-up recorded", "at": "at {m:g} months",
        "improved": "a clinically important improvement", "unchanged": "no clinically important change",
        "worse": "a clinically important worsening",
        "cot_intro": "This is a {who} {age} with {dx}.",
        "cot_base": "At baseline: {scores}.",
        "cot_pain": {"high": "Baseline pain is severe.", "mid": "Baseline pain is moderate.", "low": "Baseline pain is mild."},
        "cot_tx": "In the clinic's records the treatment chosen was {tx}.",
        "cot_judge": "To judge the result I compare each measure with its baseline and with the minimal clinically "
                     "important difference (MCID).",
        "cot_course": "{m}: {a:g} → {b:g} {at} (change {d:+g}; MCID {mcid:g}), that is, {verdict}.",
        "cot_no_fu": "There are no follow-up measures, so the result cannot be judged.",
        "cot_ae": "Adverse events recorded: {ae}.",
        "cot_end": "Conclusion for {tx}: {verdict}.",
        "unknown_course": "an outcome that cannot be judged",
    },
}


def _diagnosis_text(case: Case, lang: Language) -> str:
    parts = []
    for d in case.diagnoses:
        extra = [x for x in (_SIDE[lang].get(d.side or "", d.side), d.severity) if x]
        parts.append(label(d.name, lang) + (f" ({', '.join(extra)})" if extra else ""))
    return "; ".join(parts) or ("diagnóstico no registrado" if lang == "es" else "no recorded diagnosis")


def _treatment_text(t: Treatment, lang: Language) -> str:
    extra = []
    if t.sessions:
        extra.append(_W[lang]["sessions"].format(n=t.sessions))
    if t.dose:
        extra.append(t.dose)
    return label(t.name, lang) + (f" ({', '.join(extra)})" if extra else "")


def _baselines(case: Case) -> list[Outcome]:
    seen: dict[str, Outcome] = {}
    for o in sorted(case.outcomes, key=lambda o: o.months):
        if o.months == 0 and o.measure in PREFERRED_MEASURES and o.measure not in seen:
            seen[o.measure] = o
    return [seen[m] for m in PREFERRED_MEASURES if m in seen]


@dataclass(frozen=True)
class Course:
    """One measure's baseline and last follow-up for one treatment."""

    measure: str
    baseline: float
    last: float
    months: float

    @property
    def change(self) -> float:
        return round(self.last - self.baseline, 2)

    @property
    def direction(self) -> Direction:
        _syn, higher_better, mcid = MEASURES[self.measure]
        gain = self.change if higher_better else -self.change
        if gain >= mcid:
            return "improved"
        if gain <= -mcid:
            return "worse"
        return "unchanged"


def courses(case: Case, treatment: str) -> list[Course]:
    """Baseline -> last follow-up per measure (preferred measures first) for one treatment of a case."""
    out = []
    for measure in PREFERRED_MEASURES:
        points = [o for o in case.outcomes if o.measure == measure and o.treatment in (treatment, None)]
        base = [o for o in points if o.months == 0]
        later = [o for o in points if 0 < o.months <= MAX_FOLLOW_UP_MONTHS]
        if base and later:
            last = max(later, key=lambda o: o.months)
            out.append(Course(measure, base[0].value, last.value, last.months))
    return out


def expected_outcome(case: Case) -> Direction | None:
    """What the case records as the result of its first treatment on its primary measure (None: no follow-up)."""
    if not case.treatments:
        return None
    found = courses(case, case.treatments[0].name)
    return found[0].direction if found else None


def question_text(case: Case, lang: Language) -> str:
    """The case presentation a clinician would type."""
    w = _W[lang]
    who = _SEX[lang].get(case.sex, _SEX[lang][None])
    age = f" {w['aged'].format(age=case.age_band)}" if case.age_band else ""
    scores = "; ".join(w["baseline"].format(m=o.measure, v=f"{o.value:g}") for o in _baselines(case))
    return f"{who}{age} {w['with']} {_diagnosis_text(case, lang)}." + (f" {scores}." if scores else "") + f" {w['ask']}"


def response_text(case: Case, lang: Language) -> str:
    """What was done and how it turned out: the final response the model learns to give."""
    w = _W[lang]
    lines = []
    for t in case.treatments:
        found = courses(case, t.name)
        if found:
            course = "; ".join(
                f"{c.measure} {c.baseline:g} → {c.last:g} {w['at'].format(m=c.months)} ({c.change:+g}, {w[c.direction]})"
                for c in found)
        else:
            course = w["no_fu"]
        lines.append(f"{w['treatment']}: {_treatment_text(t, lang)}. {w['outcome']}: {course}.")
    ae = ", ".join(dict.fromkeys(case.adverse_events)) or w["none"]
    lines.append(f"{w['ae']}: {ae}.")
    return "\n".join(lines)


def template_cot(case: Case, lang: Language) -> str:
    """Reasoning from findings to course, written from the case's own facts (no invention)."""
    w = _W[lang]
    who = _SEX[lang].get(case.sex, _SEX[lang][None]).lower()
    age = w["aged"].format(age=case.age_band) if case.age_band else ""
    steps = [w["cot_intro"].format(who=who, age=age, dx=_diagnosis_text(case, lang)).replace("  ", " ")]
    base = _baselines(case)
    if base:
        steps.append(w["cot_base"].format(scores=", ".join(f"{o.measure} {o.value:g}" for o in base)))
        vas = next((o.value for o in base if o.measure == "VAS"), None)
        if vas is not None:
            steps.append(w["cot_pain"]["high" if vas >= 7 else "mid" if vas >= 4 else "low"])
    for t in case.treatments:
        tx = _treatment_text(t, lang)
        steps.append(w["cot_tx"].format(tx=tx))
        found = courses(case, t.name)
        if not found:
            steps.append(w["cot_no_fu"])
            continue
        steps.append(w["cot_judge"])
        for c in found:
            steps.append(w["cot_course"].format(m=c.measure, a=c.baseline, b=c.last, at=w["at"].format(m=c.months),
                                                d=c.change, mcid=MEASURES[c.measure][2], verdict=w[c.direction]))
        steps.append(w["cot_end"].format(tx=label(t.name, lang), verdict=w[found[0].direction]))
    if case.adverse_events:
        steps.append(w["cot_ae"].format(ae=", ".join(dict.fromkeys(case.adverse_events))))
    return " ".join(steps)


_DRAFT_SYSTEM = {
    "en": "You write the clinical reasoning that leads from a case presentation to what was done and how it turned "
          "out. Use only the facts given. Never write names, dates, places or identifiers. At most 150 words, in English.",
    "es": "Escribes el razonamiento clínico que lleva de la presentación de un caso a lo que se hizo y cómo "
          "evolucionó. Usa solo los datos dados. Nunca escribas nombres, fechas, lugares ni identificadores. "
          "Como máximo 150 palabras, en español.",
}


def draft_cot(llm: LLM, question: str, response: str, lang: Language, *, max_tokens: int = DRAFT_MAX_TOKENS) -> str | None:
    """Ask the configured LLM for the reasoning; None when it fails or writes too little (the template is used)."""
    prompt = f"{question}\n\n{response}"
    try:
        reply = llm.complete([{"role": "system", "content": _DRAFT_SYSTEM[lang]}, {"role": "user", "content": prompt}],
                             max_tokens=max_tokens, temperature=0.2)
    except LLMError as exc:
        log.warning("reasoning draft failed (%s); using the template", exc)
        return None
    text = reply.text
    if "## Final Response" in text:  # HuatuoGPT-o1 answers in its own two-part format: keep the thinking
        text = text.split("## Final Response", 1)[0]
    text = re.sub(r"^\s*#+\s*(Thinking|Razonamiento)\s*", "", text.strip(), flags=re.IGNORECASE).strip()
    return text if len(text) >= MIN_DRAFT_CHARS else None


# --------------------------------------------------------------------------- building


def load_cases(store: Store) -> list[Case]:
    """Every de-identified case in the store, by case id."""
    with store.session() as s:
        rows = list(s.scalars(select(CaseRow).order_by(CaseRow.case_id)))
        return [Case.model_validate(r.data) for r in rows]


def _split_key(case_id: str, seed: int) -> float:
    digest = hashlib.sha256(f"casewise-sft:{seed}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def build_rows(
    cases: Sequence[Case],
    *,
    detector: IdentifierDetector,
    llm: LLM | None = None,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    max_chars: int = DEFAULT_MAX_CHARS,
    seed: int = 0,
    draft_max_tokens: int = DRAFT_MAX_TOKENS,
) -> BuildResult:
    """Rows for every usable case, split by patient, deduplicated, length-limited and checked for identifiers."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction: must be between 0 and 1, got {test_fraction}")
    dropped: Counter[str] = Counter()
    candidates: list[tuple[float, SFTRow]] = []
    seen: set[str] = set()
    for case in sorted(cases, key=lambda c: _split_key(c.case_id, seed)):
        if not case.treatments:
            dropped["no_treatment"] += 1
            continue
        lang: Language = case.language or "es"
        question, response = question_text(case, lang), response_text(case, lang)
        key = _norm(question) + "\x00" + _norm(response)
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        cot, source = None, "template"
        if llm is not None:
            cot = draft_cot(llm, question, response, lang, max_tokens=draft_max_tokens)
            source = "llm" if cot else "template"
        cot = cot or template_cot(case, lang)
        if len(question) + len(cot) + len(response) > max_chars:
            dropped["too_long"] += 1
            continue
        meta = RowMeta(case_id=case.case_id, language=lang, split="train",
                       diagnoses=[d.name for d in case.diagnoses],
                       treatments=list(dict.fromkeys(t.name for t in case.treatments)),
                       outcome=expected_outcome(case), cot_source=source)  # type: ignore[arg-type]
        candidates.append((_split_key(case.case_id, seed),
                           SFTRow(Question=question, Complex_CoT=cot, Response=response, meta=meta)))
    kept = _refuse_identifiers(candidates, detector, dropped)
    train, test = _split(kept, test_fraction)
    log.info("SFT data: %d train, %d test rows from %d cases; dropped %s", len(train), len(test), len(cases),
             dict(dropped))
    return BuildResult(train=train, test=test, cases_seen=len(cases), dropped=dropped,
                       settings={"test_fraction": test_fraction, "max_chars": max_chars, "seed": seed,
                                 "reasoning": "llm" if llm is not None else "template"})


def residual_identifiers(rows: Sequence[SFTRow], detector: IdentifierDetector) -> list[list[str]]:
    """Per row, the PHI types the de-identifier's detectors find in its text fields (empty list: clean)."""
    out: list[list[str]] = [[] for _ in rows]
    for lang in ("es", "en"):
        idx = [i for i, r in enumerate(rows) if r.meta.language == lang]
        if not idx:
            continue
        texts = [t for i in idx for t in (rows[i].Question, rows[i].Complex_CoT, rows[i].Response)]
        results = detector.deidentify_many(texts, language=lang)
        for n, i in enumerate(idx):
            for res in results[3 * n:3 * n + 3]:
                out[i].extend(str(getattr(s, "type", "PHI")) for s in res.spans)
    return out


def _refuse_identifiers(candidates: list[tuple[float, SFTRow]], detector: IdentifierDetector,
                        dropped: Counter[str]) -> list[tuple[float, SFTRow]]:
    found = residual_identifiers([r for _, r in candidates], detector)
    kept = []
    for (key, row), types in zip(candidates, found):
        if types:
            dropped["residual_identifier"] += 1
            # types only: the value itself is what must never reach a log
            log.warning("SFT row refused: the de-identifier still finds %s in it", sorted(set(types)))
            continue
        kept.append((key, row))
    return kept


def _split(kept: list[tuple[float, SFTRow]], test_fraction: float) -> tuple[list[SFTRow], list[SFTRow]]:
    """By patient: a case's hash decides its side, so a patient stays on one side as the clinic grows."""
    test_idx = {i for i, (key, _) in enumerate(kept) if key < test_fraction}
    if len(kept) >= 2 and not test_idx:
        test_idx = {0}  # sorted by key: the lowest hash is the most "test-like"
    if len(kept) >= 2 and len(test_idx) == len(kept):
        test_idx.discard(len(kept) - 1)
    train: list[SFTRow] = []
    test: list[SFTRow] = []
    for i, (_key, row) in enumerate(kept):
        side = "test" if i in test_idx else "train"
        row.meta.split = side  # type: ignore[assignment]
        (test if side == "test" else train).append(row)
    return train, test


# --------------------------------------------------------------------------- files


def write_rows(rows: Sequence[SFTRow], path: Path) -> None:
    """A JSON list, as SFT_stage1.py's loader reads it (`meta` is an extra key it ignores)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=1),
                    encoding="utf-8")


def read_rows(path: Path) -> list[SFTRow]:
    """Rows written by `write_rows` (or any HuatuoGPT-o1-format JSON list whose rows carry `meta`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (run `casewise finetune build-data` first)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON list ({type(exc).__name__})") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of rows with Question, Complex_CoT, Response")
    rows = []
    for n, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(f"{path}: row {n} is not an object")
        for key in ("Question", "Complex_CoT", "Response"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise DataError(f"{path}: row {n} has no text in field {key!r}")
        if "meta" not in item:
            item = {**item, "meta": {"case_id": f"row-{n}", "language": "en", "split": "train"}}
        try:
            rows.append(SFTRow.model_validate(item))
        except ValueError as exc:
            raise DataError(f"{path}: row {n} field meta is invalid ({type(exc).__name__})") from None
    return rows
