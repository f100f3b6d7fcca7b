"""Free-text clinical notes (first visit and follow-up), Spanish or English, in many clinicians' styles."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from synth.cohort import PatientPlan, TreatmentPlan
from synth.model import Measure
from synth.people import PhiRecorder
from synth.recorded import OutcomeRecorder, outcome_value
from synth.wording import (
    JOINT_MASCULINE,
    add_typos,
    diagnosis_text,
    dose_phrase,
    fmt_date,
    kl_text,
    num,
    pick_date_style,
    side_adj,
    side_word,
    treatment_name,
)


def _tidy(text: str) -> str:
    """Drop the doubled full stop left where an abbreviation ('ses.', 'dcha.') ends a sentence."""
    return re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)


@dataclass
class NoteWriter:
    """Writes one note for one patient; every identifying string goes through ``phi``, every score through ``score``."""

    plan: PatientPlan
    rng: random.Random
    phi: PhiRecorder
    outcomes: OutcomeRecorder = field(default_factory=OutcomeRecorder)

    @property
    def es(self) -> bool:
        """True for a Spanish note."""
        return self.plan.language == "es"

    def pick(self, *options: str) -> str:
        """Choose one phrasing."""
        return self.rng.choice(options)

    def maybe(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.rng.random() < p

    def score(self, t: TreatmentPlan, measure: Measure, months: int) -> str:
        """One outcome value in the clinic's number format, recorded as stated by the document being written."""
        value = outcome_value(t, measure, months)
        if value is None:
            raise ValueError(f"no {measure} at {months} months to write")
        index = next(i for i, x in enumerate(self.plan.treatments) if x is t)
        return self.outcomes.use(index, measure, months, num(value, self.plan.language))

    # --- identifying lines -------------------------------------------------------------------------------------
    def record_line(self) -> str:
        """The header line that links the note to its patient."""
        nhc = self.phi.use("nhc", self.plan.nhc)
        label = self.pick("NHC", "Nº historia") if self.es else self.pick("MRN", "MRN", "NHC")
        return f"{label}: {nhc}"

    def date_text(self, d: date) -> str:
        """A visit date, recorded as PHI."""
        return self.phi.use(
            "visit_date", fmt_date(d, self.plan.language, pick_date_style(self.rng, self.plan.language))
        )

    def header(self, d: date, title: str | None) -> list[str]:
        """Header block: record number, optionally name, birth date, id and date, in a varied order."""
        ident = self.plan.identity
        lines = [self.record_line()]
        if self.maybe(0.7):
            name = self.phi.use("patient_name", ident.full_name if self.maybe(0.6) else ident.table_name)
            lines.append(
                f"{self.pick('Paciente', 'Nombre', 'Pac.') if self.es else self.pick('Patient', 'Name', 'Pt')}: {name}"
            )
        if self.maybe(0.35):
            dob = self.phi.use(
                "birth_date",
                fmt_date(
                    self.plan.birth_date,
                    self.plan.language,
                    self.pick("dmy", "dmy", "iso") if self.es else self.pick("dmy", "iso", "long"),
                ),
            )
            lines.append(
                f"{self.pick('F. nac.', 'Fecha nacimiento', 'FN') if self.es else self.pick('DOB', 'Date of birth')}: "
                f"{dob}"
            )
        if self.maybe(0.25):
            label = {"dni": "DNI", "nie": "NIE", "ssn": "SSN"}[ident.national_id_kind]
            lines.append(f"{label}: {self.phi.use('national_id', ident.national_id)}")
        if self.maybe(0.15):
            lines.append(f"{'Domicilio' if self.es else 'Address'}: {self.phi.use('address', ident.address)}")
        if self.maybe(0.8):
            label = self.pick("Fecha", "Fecha visita", "F.") if self.es else self.pick("Date", "Visit date", "Seen")
            lines.insert(self.rng.randint(0, len(lines)), f"{label}: {self.date_text(d)}")
        elif self.maybe(0.5):
            lines.append(self.date_text(d))
        if title:
            lines.insert(0 if self.maybe(0.5) else len(lines), title)
        return lines

    def contact_line(self) -> str | None:
        """Sometimes a phone or email is written in the body of the note."""
        ident = self.plan.identity
        if self.maybe(0.25):
            phone = self.phi.use("phone", ident.phone)
            return (
                self.pick(f"Tlf contacto: {phone}", f"Tel: {phone}", f"Móvil {phone}")
                if self.es
                else self.pick(f"Phone: {phone}", f"Contact no. {phone}", f"Tel {phone}")
            )
        if ident.email and self.maybe(0.12):
            email = self.phi.use("email", ident.email)
            return f"{self.pick('Email', 'Correo', 'e-mail') if self.es else self.pick('Email', 'E-mail')}: {email}"
        if ident.phone2 and self.maybe(0.1):
            phone = self.phi.use("phone", ident.phone2)
            return f"{'Tel. fijo' if self.es else 'Home phone'}: {phone}"
        return None

    def signature(self) -> str | None:
        """The treating doctor's signature, in one of its forms (or none)."""
        doc = self.plan.identity.doctor
        r = self.rng.random()
        if r < 0.45:
            return self.phi.use("doctor_name", doc.short)
        if r < 0.8:
            name = self.phi.use("doctor_name", doc.full)
            return (
                self.pick(f"Fdo.: {name}", f"Firmado: {name}", name)
                if self.es
                else self.pick(f"Signed: {name}", name, f"-- {name}")
            )
        return None

    def relative_sentence(self) -> str | None:
        """Who came with the patient, when someone did."""
        ident = self.plan.identity
        if not ident.relative or not self.maybe(0.65):
            return None
        rel = self.phi.use("relative_name", ident.relative)
        if self.es:
            acomp = "Acude acompañada" if self.plan.sex == "F" else "Acude acompañado"
            return self.pick(
                f"{acomp} de su {ident.relative_role_es} ({rel}).",
                f"{acomp} de su {ident.relative_role_es}, {rel}.",
                f"Viene con {rel} ({ident.relative_role_es}).",
            )
        return self.pick(
            f"Accompanied by {ident.relative_role_en} {rel}.",
            f"Attends with {rel} ({ident.relative_role_en}).",
            f"{ident.relative_role_en.capitalize() if ident.relative_role_en else ''} {rel} present at visit.",
        )

    # --- clinical phrases ----------------------------------------------------------------------------------------
    def intro(self) -> str:
        """Age and sex opening."""
        p = self.plan
        if self.es:
            who = (
                self.pick("Mujer", "Paciente mujer", "Mujer")
                if p.sex == "F"
                else self.pick("Varón", "Hombre", "Paciente varón")
            )
            years = self.pick(f"{p.age} años", f"{p.age} a.", f"{p.age}a")
            return self.pick(f"{who} de {years}", f"{who}, {years}", f"Paciente de {years}")
        sex = self.pick("F", "female", "woman") if p.sex == "F" else self.pick("M", "male", "man")
        return self.pick(
            f"{p.age} y/o {sex}", f"{p.age}-year-old {sex}", f"Pt is a {p.age}yo {sex}", f"{p.age}{sex[0]}"
        )

    def intro_sentence(self) -> str:
        """The opening as a sentence (no doubled full stop after 'a.')."""
        text = self.intro()
        return text if text.endswith(".") else text + "."

    def joint_side(self) -> str:
        """'rodilla izq' / 'left knee'."""
        p = self.plan
        if self.es:
            return f"{p.spec.joint_es} {side_adj(p.side, 'es', self.rng, p.spec.joint_es in JOINT_MASCULINE)}"
        return (
            f"{side_word(p.side, 'en', self.rng)} {p.spec.joint_en}"
            if p.side != "bilateral"
            else f"bilateral {p.spec.joint_en}s"
        )

    def complaint(self) -> str:
        """Reason for consulting."""
        p = self.plan
        m = p.symptom_months
        js = self.joint_side()
        if self.es:
            dur = self.pick(f"{m} meses de evolución", f"de {m} m de evolución", f"desde hace {m} meses")
            return self.pick(
                f"Consulta por dolor en {js} {dur}.",
                f"{'Remitida' if p.sex == 'F' else 'Remitido'} por su MAP por dolor {js}, {dur}.",
                f"Dolor mecánico en {js} {dur}.",
                f"MC: dolor {js} ({dur}).",
                f"Refiere dolor en {js} {dur} que limita la marcha."
                if p.spec.joint_es in ("rodilla", "cadera", "pie", "tobillo")
                else f"Refiere dolor en {js} {dur} que limita AVD.",
            )
        return self.pick(
            f"c/o {js} pain x {m} months.",
            f"Presents with {m}-month hx of {js} pain.",
            f"Referred by GP for {js} pain, {m} months duration.",
            f"{js.capitalize()} pain for {m} mo, worse with activity.",
        )

    def history(self) -> str:
        """Past medical history and allergies, with the usual negations."""
        p = self.plan
        es_names = {
            "hta": "HTA",
            "dm2": "DM2",
            "dyslipidaemia": "DLP",
            "hypothyroidism": "hipotiroidismo",
            "obesity": "obesidad",
            "gout": "gota",
            "af": "FA anticoagulada",
        }
        en_names = {
            "hta": "HTN",
            "dm2": "T2DM",
            "dyslipidaemia": "hyperlipidaemia",
            "hypothyroidism": "hypothyroidism",
            "obesity": "obesity",
            "gout": "gout",
            "af": "AF on anticoagulation",
        }
        if self.es:
            ap = (
                ", ".join(es_names[c] for c in p.comorbidities)
                if p.comorbidities
                else self.pick("sin interés", "sin AP de interés", "nada relevante")
            )
            alg = {
                None: self.pick("NAMC", "No alergias conocidas", "Niega alergias"),
                "penicillin": "Alergia a penicilina",
                "nsaids": "Alergia a AINEs",
                "iodine": "Alergia a contrastes yodados",
            }[p.allergy]
            return self.pick(f"AP: {ap}. {alg}.", f"Antecedentes: {ap}. {alg}.", f"AP {ap}; {alg}.")
        pmh = (
            ", ".join(en_names[c] for c in p.comorbidities)
            if p.comorbidities
            else self.pick("nil of note", "unremarkable", "none")
        )
        alg = {
            None: self.pick("NKDA", "No known drug allergies", "NKA"),
            "penicillin": "Allergic to penicillin",
            "nsaids": "NSAID allergy",
            "iodine": "Iodine contrast allergy",
        }[p.allergy]
        return self.pick(f"PMH: {pmh}. {alg}.", f"Hx: {pmh}. {alg}.", f"PMHx {pmh}; {alg}.")

    def negations(self) -> str:
        """Things the patient denies; clinicians write them on purpose."""
        if self.es:
            opts = [
                "Niega fiebre.",
                "No traumatismo previo.",
                "No infiltraciones previas.",
                "No clínica neurológica.",
                "Niega dolor nocturno.",
                "No bloqueos ni fallos.",
                "AINEs sin mejoría.",
            ]
        else:
            opts = [
                "Denies fever.",
                "No trauma.",
                "No prior injections.",
                "No night pain.",
                "No locking or giving way.",
                "NSAIDs with no relief.",
                "Denies numbness or tingling.",
            ]
        return " ".join(self.rng.sample(opts, k=self.rng.randint(1, 3)))

    def exam(self) -> str:
        """Joint-specific examination findings."""
        d = self.plan.spec.diagnosis_id
        es = self.es
        table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "knee_oa": (
                (
                    "derrame leve",
                    "no derrame",
                    "sin derrame",
                    "crepitación FP",
                    "dolor interlínea medial",
                    "BA 0-110º",
                    "BA completo",
                    "genu varo",
                    "flexo 5º",
                    "dolor a la palpación interlínea interna",
                ),
                (
                    "mild effusion",
                    "no effusion",
                    "crepitus",
                    "medial joint line tenderness",
                    "ROM 0-110",
                    "full ROM",
                    "varus alignment",
                    "fixed flexion 5 deg",
                ),
            ),
            "hip_oa": (
                ("RI limitada y dolorosa", "FABER +", "BA cadera limitado", "marcha antiálgica", "no dismetrías"),
                ("painful limited IR", "FABER positive", "antalgic gait", "reduced hip ROM", "no LLD"),
            ),
            "lateral_epicondylitis": (
                (
                    "dolor a la palpación epicóndilo lateral",
                    "Cozen +",
                    "Mill +",
                    "fuerza prensión disminuida",
                    "BA codo completo",
                ),
                (
                    "tender lateral epicondyle",
                    "Cozen's positive",
                    "Mill's test +",
                    "reduced grip strength",
                    "full elbow ROM",
                ),
            ),
            "rotator_cuff_tendinopathy": (
                (
                    "Jobe +",
                    "Hawkins +",
                    "Neer +",
                    "arco doloroso 60-120º",
                    "BA completo doloroso",
                    "fuerza RE conservada",
                ),
                (
                    "Jobe positive",
                    "Hawkins +",
                    "Neer +",
                    "painful arc",
                    "full but painful ROM",
                    "ER strength preserved",
                ),
            ),
            "plantar_fasciitis": (
                (
                    "dolor a la palpación en inserción calcánea de la fascia",
                    "Windlass +",
                    "dolor primeros pasos",
                    "no edema",
                ),
                ("tender medial calcaneal tubercle", "Windlass +", "first-step pain", "no swelling"),
            ),
            "patellar_tendinopathy": (
                ("dolor polo inferior de rótula", "dolor en sentadilla monopodal", "no derrame"),
                ("tender inferior pole of patella", "pain on single-leg squat", "no effusion"),
            ),
            "achilles_tendinopathy": (
                (
                    "engrosamiento tendón Aquiles a 4 cm de la inserción",
                    "dolor a la palpación porción media",
                    "Thompson negativo",
                ),
                ("thickened Achilles midportion", "tender 4 cm above insertion", "Thompson negative"),
            ),
        }
        drawn = self.rng.sample(table[d][0 if es else 1], k=len(table[d][0 if es else 1]))
        findings: list[str] = []
        for item in drawn:
            # One statement per topic: never 'no derrame' and 'derrame leve' together.
            if not any(
                key in item and any(key in f for f in findings)
                for key in ("derrame", "effusion", "BA ", "ROM", "interlínea")
            ):
                findings.append(item)
        findings = findings[:3]
        if es:
            return self.pick("EF: ", "Exploración: ", "Expl: ", "") + ", ".join(findings) + "."
        return self.pick("O/E: ", "Exam: ", "On examination ", "") + ", ".join(findings) + "."

    def imaging(self) -> str | None:
        """Imaging with the Kellgren-Lawrence grade for osteoarthritis."""
        p = self.plan
        if p.severity is not None:
            kl = kl_text(p.severity, p.language, self.rng)
            if self.es:
                return self.pick(
                    f"Rx: pinzamiento articular y osteofitos, {kl}.",
                    f"Rx AP y lateral: artrosis {kl}.",
                    f"Rx en carga: {kl}.",
                    f"Radiología: cambios degenerativos, {kl}.",
                )
            return self.pick(
                f"XR: joint space narrowing, osteophytes, {kl}.",
                f"Weight-bearing x-rays: {kl}.",
                f"Imaging: degenerative changes ({kl}).",
            )
        if not self.maybe(0.7):
            return None
        if self.es:
            return self.pick(
                "Eco: engrosamiento e hipoecogenicidad del tendón, sin rotura.",
                "RMN: tendinosis sin rotura completa.",
                "Ecografía: tendinopatía con neovascularización.",
                "Eco: fascia engrosada (6,1 mm)."
                if p.spec.diagnosis_id == "plantar_fasciitis"
                else "Eco: signos de tendinopatía crónica.",
            )
        return self.pick(
            "US: thickened hypoechoic tendon, no tear.",
            "MRI: tendinosis without full-thickness tear.",
            "Ultrasound: tendinopathy with neovascularity.",
        )

    def scales(self, t: TreatmentPlan, month: int) -> str:
        """Pain and function scores at ``month`` (VAS always; WOMAC/KOOS when recorded)."""
        v = self.score(t, "vas", month)
        if self.es:
            parts = [self.pick(f"EVA {v}/10", f"EVA {v}", f"EVA: {v}", f"dolor EVA {v}/10")]
        else:
            parts = [self.pick(f"VAS {v}/10", f"pain {v}/10 (VAS)", f"VAS: {v}", f"VAS pain {v}")]
        if t.womac.get(month) is not None and self.maybe(0.85):
            w = self.score(t, "womac", month)
            parts.append(self.pick(f"WOMAC {w}", f"WOMAC total {w}/96", f"WOMAC: {w}"))
        if t.koos.get(month) is not None and self.maybe(0.85):
            parts.append(f"KOOS {'dolor' if self.es else 'pain'} {self.score(t, 'koos_pain', month)}")
        return ", ".join(parts) + "."

    def impression(self) -> str:
        """Working diagnosis, sometimes with the ICD-10 code."""
        p = self.plan
        dx = diagnosis_text(p, self.rng)
        side = side_word(p.side, p.language, self.rng)
        grade = f" {kl_text(p.severity, p.language, self.rng)}" if p.severity is not None and self.maybe(0.6) else ""
        code = f" ({p.icd10})" if self.maybe(0.4) else ""
        label = (
            self.pick("JC: ", "Juicio clínico: ", "Dx: ", "Impresión diagnóstica: ")
            if self.es
            else self.pick("Imp: ", "Assessment: ", "Dx: ", "Impression: ")
        )
        return f"{label}{dx} {side}{grade}{code}".rstrip(".") + "."

    def plan_text(self, t: TreatmentPlan, first: bool) -> str:
        """The treatment decided at this visit and when to come back."""
        lang = self.plan.language
        name = treatment_name(t.treatment_id, lang, self.rng)
        dose = dose_phrase(t, lang, self.rng)
        dose = f" ({dose})" if dose and self.maybe(0.5) else (f", {dose}" if dose else "")
        fu = (
            self.pick("Revisión en 3 meses.", "Rev 3m.", "Control en 3 meses.", "Cita en 3 meses con EVA.")
            if self.es
            else self.pick("FU 3 months.", "Review in 3/12.", "F/U 3 mo.", "Rv 3m with VAS.")
        )
        tid = t.treatment_id
        if self.es:
            if tid == "surgery_referral":
                act = self.pick(
                    f"Se explica escaso beneficio esperable de infiltraciones. Se decide {name}{dose}.",
                    f"Plan: {name}{dose}.",
                    f"Se remite a Traumatología ({name}){dose}.",
                )
            elif tid == "physiotherapy":
                act = self.pick(
                    f"Se pauta {name}{dose}.", f"Plan: {name}{dose}, ejercicios domiciliarios.", f"Inicia {name}{dose}."
                )
            elif tid == "eswt":
                act = self.pick(f"Se propone {name}{dose}.", f"Tto: {name}{dose}.", f"Inicia {name}{dose}.")
            else:
                route = " IA" if self.plan.spec.diagnosis_id in ("knee_oa", "hip_oa") and self.maybe(0.6) else ""
                act = self.pick(
                    f"Se propone tto con {name}{route}{dose}.",
                    f"Se infiltra {name}{route}{dose}.",
                    f"Plan: infiltración de {name}{route}{dose}.",
                    f"Tto: {name}{route}{dose}.",
                )
                if self.maybe(0.5):
                    act += " " + self.pick(
                        "Se explica procedimiento, firma CI.",
                        "Firma consentimiento informado.",
                        "Se entrega hoja informativa.",
                    )
                if self.plan.spec.diagnosis_id == "hip_oa" and self.maybe(0.6):
                    act += " Guiado por ecografía."
        else:
            if tid == "surgery_referral":
                act = self.pick(
                    f"Injections unlikely to help; {name}{dose}.",
                    f"Plan: {name}{dose}.",
                    f"Discussed options, pt agrees to {name}{dose}.",
                )
            elif tid == "physiotherapy":
                act = self.pick(
                    f"Plan: {name}{dose}.", f"Start {name}{dose} + home exercises.", f"Referred for {name}{dose}."
                )
            elif tid == "eswt":
                act = self.pick(f"Plan: {name}{dose}.", f"Start {name}{dose}.", f"Booked for {name}{dose}.")
            else:
                route = " IA" if self.plan.spec.diagnosis_id in ("knee_oa", "hip_oa") and self.maybe(0.6) else ""
                act = self.pick(
                    f"Plan: {name}{route} injection{dose}.",
                    f"Injected {name}{route}{dose}.",
                    f"Tx: {name}{route}{dose}.",
                    f"Offered {name}{route}{dose}, pt consented.",
                )
                if self.plan.spec.diagnosis_id == "hip_oa" and self.maybe(0.6):
                    act += " US-guided."
        return act + ("" if tid == "surgery_referral" and self.maybe(0.5) else " " + fu)

    # --- whole notes -----------------------------------------------------------------------------------------------
    def first_visit(self) -> str:
        """The first-visit note."""
        p = self.plan
        t = p.treatments[0]
        title = (
            self.pick("PRIMERA VISITA", "Primera consulta", "1ª visita - Unidad de Medicina Regenerativa", "CONSULTA")
            if self.es
            else self.pick("NEW PATIENT", "First visit", "Initial consultation", "New pt assessment")
        )
        lines = self.header(p.first_visit, title if self.maybe(0.7) else None)
        style = self.rng.choice(("headed", "prose", "dashes"))
        body = [
            f"{self.intro_sentence()} {self.complaint()}",
            self.history(),
            self.negations(),
            self.exam(),
            self.imaging(),
            self.scales(t, 0),
            self.impression(),
            self.plan_text(t, True),
        ]
        rel = self.relative_sentence()
        if rel:
            body.insert(1, rel)
        contact = self.contact_line()
        if contact:
            body.insert(self.rng.randint(1, 3), contact)
        parts = [b for b in body if b]
        # Middle sections appear in different orders in different clinicians' notes.
        middle = parts[1:-2]
        if self.maybe(0.5):
            self.rng.shuffle(middle)
        parts = parts[:1] + middle + parts[-2:]
        if style == "prose":
            text = " ".join(parts[: len(parts) // 2]) + "\n\n" + " ".join(parts[len(parts) // 2 :])
        elif style == "dashes":
            text = "\n".join(f"- {x}" for x in parts)
        else:
            text = "\n".join(parts)
        sig = self.signature()
        note = _tidy("\n".join(lines) + "\n\n" + text + ("\n\n" + sig if sig else "") + "\n")
        return add_typos(note, self.rng, 0.25 if self.maybe(0.5) else 0.0)

    def response(self, before: float, after: float) -> str:
        """How the clinician describes the change in pain."""
        d = after - before
        if self.es:
            if d <= -3:
                return self.pick(
                    "Mejoría clara.", "Franca mejoría.", "Muy buena evolución.", "Mejoría importante del dolor."
                )
            if d <= -1.5:
                return self.pick(
                    "Mejoría parcial.", "Mejoría moderada.", "Algo mejor.", "Evolución favorable aunque persiste dolor."
                )
            if d < 1:
                return self.pick("No mejoría.", "Sin cambios.", "No nota mejoría significativa.", "Evolución tórpida.")
            return self.pick("Empeoramiento.", "Refiere más dolor que al inicio.", "Peor que antes del tratamiento.")
        if d <= -3:
            return self.pick(
                "Marked improvement.", "Much better.", "Significant improvement in pain.", "Excellent response."
            )
        if d <= -1.5:
            return self.pick("Partial improvement.", "Moderately better.", "Some improvement, still symptomatic.")
        if d < 1:
            return self.pick("No improvement.", "Unchanged.", "No significant change.", "Not better.")
        return self.pick("Worse.", "Pain worse than baseline.", "Deteriorated.")

    def adverse(self, t: TreatmentPlan) -> str:
        """Adverse events, or their explicit absence."""
        if not t.adverse_events:
            return (
                self.pick(
                    "Niega efectos adversos.",
                    "Sin incidencias tras el procedimiento.",
                    "No efectos secundarios.",
                    "No AA.",
                )
                if self.es
                else self.pick(
                    "No adverse events.", "Denies AEs.", "No complications reported.", "Tolerated well, no AEs."
                )
            )
        event = t.adverse_events[0]
        if event == "post_injection_flare":
            return (
                self.pick(
                    "Refiere dolor post-infiltración las primeras 48 h, cedió con frío y paracetamol.",
                    "Dolor post-infiltración 2-3 días, autolimitado.",
                    "Presentó reacción dolorosa tras la infiltración.",
                )
                if self.es
                else self.pick(
                    "Post-injection flare for 2 days, settled with ice.",
                    "Pain flare after injection x48h, resolved.",
                    "Reports post-procedure pain flare, self-limiting.",
                )
            )
        return (
            self.pick(
                "Derrame articular leve tras la infiltración, resuelto.",
                "Presentó derrame a las 48 h que se resolvió sin artrocentesis.",
            )
            if self.es
            else self.pick(
                "Small effusion after injection, resolved.", "Developed joint effusion post-injection, settled."
            )
        )

    def follow_up(self, t_index: int, month: int) -> str:
        """A follow-up note for treatment ``t_index`` at ``month`` months."""
        p = self.plan
        t = p.treatments[t_index]
        visit = t.date + timedelta(days=round(month * 30.44) + self.rng.randint(-5, 9))
        lang = p.language
        name = treatment_name(t.treatment_id, lang, self.rng)
        title = (
            self.pick(
                f"REVISIÓN {month} MESES", f"Revisión a los {month} meses", "Consulta sucesiva", f"Control {month}m"
            )
            if self.es
            else self.pick(f"FOLLOW-UP {month} MONTHS", f"FU {month}m", "Review", f"{month}-month review")
        )
        lines = self.header(visit, title)
        v0 = t.vas[0] or 0.0
        vn = t.vas[month] or 0.0
        when = fmt_date(t.date, lang, pick_date_style(self.rng, lang))
        when = self.phi.use("visit_date", when)
        b = self.score(t, "vas", 0)
        if t.treatment_id == "surgery_referral":
            surgery = (
                {"TKA": "PTR", "THA": "PTC"}.get(t.product or "", "artroplastia")
                if self.es
                else (t.product or "arthroplasty")
            )
            opening = (
                self.pick(
                    f"Revisión tras {name} ({when}). {'Intervenida' if p.sex == 'F' else 'Intervenido'}: {surgery}.",
                    f"{'Derivada' if p.sex == 'F' else 'Derivado'} a COT el {when}; se realizó {surgery}.",
                )
                if self.es
                else self.pick(
                    f"Seen after {name} ({when}); underwent {surgery}.", f"s/p {surgery} following {name} on {when}."
                )
            )
            basal = (
                self.pick(f"EVA basal {b}", f"EVA previa {b}")
                if self.es
                else self.pick(f"baseline VAS {b}", f"pre-op VAS {b}")
            )
        elif self.es:
            opening = self.pick(
                f"Revisión tras {name} ({when}).",
                f"Acude a revisión {month}m tras tto con {name} ({when}).",
                f"Paciente en seguimiento por {diagnosis_text(p, self.rng)} {side_word(p.side, lang, self.rng)}, "
                f"{'tratada' if p.sex == 'F' else 'tratado'} con {name} el {when}.",
                f"s/p {name} {when}.",
            )
            basal = self.pick(f"EVA basal {b}", f"EVA previa {b}", f"Partía de EVA {b}")
        else:
            opening = self.pick(
                f"Seen {month} months s/p {name} ({when}).",
                f"FU after {name} on {when}.",
                f"Pt with {diagnosis_text(p, self.rng)}, had {name} {when}.",
                f"s/p {name} {when}.",
            )
            basal = self.pick(f"baseline VAS {b}", f"VAS at baseline {b}", f"pre-tx VAS {b}")
        history = ""
        earlier = [m for m in (3, 6) if m < month and t.vas.get(m) is not None]
        if earlier and self.maybe(0.5):
            history = " " + ", ".join(f"{m}m: {self.score(t, 'vas', m)}" for m in earlier) + "."
        body = [opening, self.response(v0, vn), self.scales(t, month) + f" ({basal}).{history}", self.adverse(t)]
        if self.maybe(0.4):
            self.rng.shuffle(body[1:3])
        if t_index + 1 < len(p.treatments) and month == p.treatments[t_index].last_vas_month():
            nxt = p.treatments[t_index + 1]
            intro = (
                self.pick(
                    "Ante la escasa mejoría se decide cambiar de tratamiento.",
                    "Dada la mala evolución, se plantea alternativa.",
                )
                if self.es
                else self.pick("Given poor response, change of plan.", "Inadequate response, switching treatment.")
            )
            body.append(intro + " " + self.plan_text(nxt, False))
        elif self.es:
            body.append(
                self.pick(
                    "Alta si continúa bien.",
                    "Continuar ejercicios. Rev en 6 meses.",
                    "Seguimiento habitual.",
                    "Se ofrece repetir tratamiento si recae.",
                    "Control en 6 m.",
                )
            )
        else:
            body.append(
                self.pick(
                    "Discharge if stays well.", "Continue HEP, review 6/12.", "Routine FU.", "Can repeat if relapse."
                )
            )
        contact = self.contact_line() if self.maybe(0.5) else None
        if contact:
            body.append(contact)
        rel = self.relative_sentence() if self.maybe(0.5) else None
        if rel:
            body.insert(1, rel)
        joiner = "\n" if self.maybe(0.5) else " "
        sig = self.signature()
        note = _tidy("\n".join(lines) + "\n\n" + joiner.join(body) + ("\n\n" + sig if sig else "") + "\n")
        return add_typos(note, self.rng, 0.25 if self.maybe(0.5) else 0.0)
