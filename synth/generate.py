"""Generate the whole synthetic clinic: documents, tables and ``ground_truth.json``."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from synth.cohort import PatientPlan, TreatmentPlan, draw_nhcs, draw_patient
from synth.files import write_bytes, write_text
from synth.letters import render_letter
from synth.model import (
    GROUND_TRUTH_FILE,
    Diagnosis,
    GroundTruth,
    Measure,
    Outcome,
    Patient,
    TableRowRef,
    Treatment,
)
from synth.notes import NoteWriter
from synth.people import PhiRecorder
from synth.questions import build_questions
from synth.recorded import OutcomeRecorder
from synth.reports import render_report
from synth.tables import CSV_PATH, XLSX_PATH, TableEntry, choose_label, render_csv, render_xlsx
from synth.vocab import effects_table, vocabulary

log = logging.getLogger(__name__)

DEFAULT_PATIENTS = 200
DEFAULT_SEED = 7
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"

# Only these generated outputs are removed before writing, so stale files from a larger run cannot linger.
_OWNED_GLOBS = ("notes/*.txt", "reports/*.pdf", "letters/*.docx", CSV_PATH, XLSX_PATH, GROUND_TRUTH_FILE)


@dataclass
class _Doc:
    plan: PatientPlan
    kind: str  # first, followup, report, letter
    folder: str
    stem: str
    suffix: str
    extra: tuple[int, int] | None = None
    path: str = ""


@dataclass
class _PatientState:
    plan: PatientPlan
    phi: PhiRecorder = field(default_factory=PhiRecorder)
    outcomes: OutcomeRecorder = field(default_factory=OutcomeRecorder)
    docs: list[_Doc] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    rows: list[TableRowRef] = field(default_factory=list)


def _plan_docs(plan: PatientPlan) -> list[_Doc]:
    es = plan.language == "es"
    docs = [_Doc(plan, "first", "notes", "nota" if es else "note", ".txt")]
    docs += [_Doc(plan, "followup", "notes", "nota" if es else "note", ".txt", extra=f) for f in plan.followups]
    if plan.has_report:
        docs.append(_Doc(plan, "report", "reports", "informe" if es else "report", ".pdf"))
    if plan.has_letter:
        docs.append(_Doc(plan, "letter", "letters", "carta" if es else "letter", ".docx"))
    return docs


def _number_docs(docs: list[_Doc], seed: int) -> None:
    """Give files numbers in a seeded shuffled order, so neighbouring numbers do not reveal the same patient."""
    for folder in ("notes", "reports", "letters"):
        group = [d for d in docs if d.folder == folder]
        numbers = list(range(1, len(group) + 1))
        random.Random(f"casewise-synth/{seed}/numbers/{folder}").shuffle(numbers)
        for d, n in zip(group, numbers, strict=True):
            d.path = f"{folder}/{d.stem}_{n:05d}{d.suffix}"


def _treatment_model(t: TreatmentPlan, index: int, label: str | None, written: OutcomeRecorder) -> Treatment:
    series: tuple[tuple[Measure, dict[int, float | None]], ...] = (
        ("vas", t.vas),
        ("womac", t.womac),
        ("koos_pain", t.koos),
    )
    outcomes = [
        Outcome(measure=measure, time_point_months=m, value=v, recorded_in=written.places(index, measure, m))
        for measure, values in series
        for m, v in sorted(values.items())
        if v is not None
    ]
    return Treatment(
        treatment_id=t.treatment_id,
        date=t.date.isoformat(),
        dose=t.dose,
        product=t.product,
        sessions=t.sessions,
        outcomes=outcomes,
        adverse_events=list(t.adverse_events),
        table_label=label,
    )


class NotAClinicFolderError(RuntimeError):
    """The output folder holds documents that this generator did not write."""


def _clean(out_dir: Path) -> None:
    owned = [p for pattern in _OWNED_GLOBS for p in out_dir.glob(pattern)]
    if owned and not (out_dir / GROUND_TRUTH_FILE).exists():
        raise NotAClinicFolderError(
            f"{out_dir} already holds notes/reports/letters/tables but no {GROUND_TRUTH_FILE}; "
            "choose an empty or new folder so no existing files are overwritten"
        )
    for pattern in _OWNED_GLOBS:
        for path in sorted(out_dir.glob(pattern)):
            path.unlink()


def generate_clinic(out_dir: Path, patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED) -> GroundTruth:
    """Write a synthetic clinic of ``patients`` patients under ``out_dir`` and return its ground truth.

    The same ``seed`` and ``patients`` always give byte-identical files. Patient ``i`` is drawn from its own
    random stream, so a smaller clinic is the first patients of a larger one (documents are numbered differently).
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    nhcs = draw_nhcs(seed, patients)
    states = [_PatientState(draw_patient(seed, i, nhcs[i])) for i in range(patients)]
    all_docs: list[_Doc] = []
    for st in states:
        st.docs = _plan_docs(st.plan)
        all_docs += st.docs
    _number_docs(all_docs, seed)

    csv_entries: list[TableEntry] = []
    xlsx_entries: list[TableEntry] = []
    for st in states:
        plan = st.plan
        writer = NoteWriter(plan, random.Random(plan.rng_seed + "/text"), st.phi, st.outcomes)
        for doc in st.docs:
            target = out_dir / doc.path
            st.outcomes.begin(doc.path)
            if doc.kind == "first":
                write_text(target, writer.first_visit())
            elif doc.kind == "followup":
                assert doc.extra is not None
                write_text(target, writer.follow_up(*doc.extra))
            elif doc.kind == "report":
                write_bytes(target, render_report(writer))
            else:
                write_bytes(target, render_letter(writer))
        label_rng = random.Random(plan.rng_seed + "/labels")
        if plan.table is not None:
            lang = "es" if plan.table == "csv" else "en"
            for i, t in enumerate(plan.treatments):
                label = choose_label(label_rng, t.treatment_id, lang)
                st.labels.append(label)
                entry = TableEntry(plan, i, label, st.phi, st.outcomes)
                (csv_entries if plan.table == "csv" else xlsx_entries).append(entry)

    by_index = {st.plan.index: st for st in states}
    tables: dict[str, str] = {}
    for path, entries, render, lang in (
        (CSV_PATH, csv_entries, render_csv, "es"),
        (XLSX_PATH, xlsx_entries, render_xlsx, "en"),
    ):
        if not entries:
            continue
        data, ordered = render(entries)
        write_bytes(out_dir / path, data)
        tables[path] = lang
        for row, entry in enumerate(ordered):
            by_index[entry.plan.index].rows.append(
                TableRowRef(path=path, row=row, treatment_index=entry.treatment_index)
            )

    effects = effects_table()
    models: list[Patient] = []
    for st in states:
        p = st.plan
        models.append(
            Patient(
                patient_id=p.patient_id,
                nhc=p.nhc,
                sex=p.sex,
                age=p.age,
                birth_date=p.birth_date.isoformat(),
                first_visit=p.first_visit.isoformat(),
                language=p.language,
                diagnosis=Diagnosis(
                    diagnosis_id=p.spec.diagnosis_id,
                    icd10=p.icd10,
                    side=p.side,  # type: ignore[arg-type]
                    severity=p.severity,
                    effect_group=p.group,
                ),
                treatments=[
                    _treatment_model(t, i, st.labels[i] if st.labels else None, st.outcomes)
                    for i, t in enumerate(p.treatments)
                ],
                documents=sorted(d.path for d in st.docs),
                table_rows=sorted(st.rows, key=lambda r: (r.path, r.row)),
                phi=list(st.phi.items),
            )
        )
    truth = GroundTruth(
        seed=seed,
        patient_count=patients,
        tables=tables,
        vocabulary=vocabulary(),
        effects=effects,
        patients=models,
        questions=build_questions(effects, models),
    )
    write_text(out_dir / GROUND_TRUTH_FILE, truth.model_dump_json(indent=1) + "\n")
    log.info("synthetic clinic written: %d patients, %d documents, seed %d", patients, len(all_docs), seed)
    return truth
