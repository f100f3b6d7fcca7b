"""The answer written from the evidence table alone, when no language model is configured (or it abstains)."""

from __future__ import annotations

from casewise.general_terms import term_label
from casewise.lang import measure_name, number
from casewise.plan import Arm, Cohort, MeasureStat, NotFound, QuestionPlan
from casewise.types import Answer, Citation, Claim, Evidence, EvidenceRow, Language, SimilarCase
from casewise.vocabulary import MEASURES, label

PREFERRED = ("VAS", "WOMAC", "KOOS", "LEQUESNE")

NOTICE = {
    "es": "Aviso: resumen de casos previos de la clínica para apoyo a la decisión clínica; no sustituye el juicio "
          "clínico ni indica dosis más allá de lo registrado en los casos citados.",
    "en": "Notice: a summary of the clinic's past cases to support clinical judgement; it does not replace it and "
          "gives no dosing beyond what the cited cases record.",
}


def _num(x: float, lang: Language) -> str:
    return number(x, lang) if x else "0"


def _row_sentence(row: EvidenceRow, lang: Language) -> str:
    name = label(row.treatment, lang)
    cites = ", ".join(row.case_ids[:6]) + (", …" if len(row.case_ids) > 6 else "")
    if not row.outcomes:
        base = (f"{name}: {row.n_cases} caso(s), sin resultados medidos registrados" if lang == "es"
                else f"{name}: {row.n_cases} case(s), no measured outcome recorded")
        return f"- {base} [{cites}]."
    o = row.outcomes[0]
    _s, _higher_better, mcid = MEASURES[o.measure]
    measure = measure_name(o.measure, lang)
    share = f"{round((o.improved_share or 0) * 100)} %"
    if lang == "es":
        text = (f"{name}: {row.n_cases} caso(s); {measure} mediana {_num(o.median_change, lang)} a {number(o.months, lang, '{:g}')} meses "
                f"(n={o.n}); {share} mejoraron al menos {mcid:g} puntos")
        if row.adverse_events:
            text += f"; efectos adversos en {row.adverse_events}"
    else:
        text = (f"{name}: {row.n_cases} case(s); {measure} median change {_num(o.median_change, lang)} at {o.months:g} "
                f"months (n={o.n}); {share} improved by at least {mcid:g} points")
        if row.adverse_events:
            text += f"; adverse events in {row.adverse_events}"
    return f"- {text} [{cites}]."


def evidence_answer(question: str, language: Language, evidence: Evidence, reason: str = "") -> Answer:
    """Summarize the evidence table in the question's language, citing the cases behind each line."""
    es = language == "es"
    lines: list[str] = []
    claims: list[Claim] = []
    if reason:
        lines.append(reason)
    if evidence.too_little_evidence:
        lines.append(
            "Los registros de la clínica contienen demasiado pocos casos similares para responder con confianza. "
            "Se muestra lo encontrado." if es else
            "The clinic's records hold too few similar cases to answer with confidence. Showing what was found.")
    else:
        lines.append("Respuesta basada en la tabla de evidencia (sin modelo de lenguaje)." if es else
                     "Answer written from the evidence table (no language model configured).")
    ids = [c.case_id for c in evidence.cases]
    if ids:
        lines.append((f"Casos similares ({len(ids)}): " if es else f"Similar cases ({len(ids)}): ") + ", ".join(ids) + ".")
    if evidence.table:
        lines.append("Qué se hizo y cómo evolucionó (mejor primero):" if es else "What was done and how it turned out (best first):")
        for row in evidence.table:
            sentence = _row_sentence(row, language)
            lines.append(sentence)
            claims.append(Claim(text=sentence, case_ids=row.case_ids, supported=True, support=1.0))
    cited = list(dict.fromkeys(cid for row in evidence.table for cid in row.case_ids)) or ids
    return Answer(
        question=question, language=language, text="\n".join(lines), citations=[Citation(case_id=c) for c in cited],
        claims=claims, evidence=evidence, mode="evidence", abstained=evidence.too_little_evidence,
        notice=NOTICE[language], flags=["too_little_evidence"] if evidence.too_little_evidence else [],
    )


# -- answers to a question plan: understood-as line, what the records lack first, then the cohort tables ------------

INTENT_WORDS = {
    "es": {"similar_cases": "casos similares", "what_worked": "qué funcionó", "compare": "comparación",
           "count": "recuento", "list": "lista de casos", "regimen": "pauta (dosis y sesiones)",
           "adverse_events": "efectos adversos", "outcome_over_time": "evolución en el tiempo",
           "identifier_request": "petición de identificadores", "too_vague": "pregunta demasiado general"},
    "en": {"similar_cases": "similar cases", "what_worked": "what worked", "compare": "comparison", "count": "count",
           "list": "list of cases", "regimen": "regimen (dose and sessions)", "adverse_events": "adverse events",
           "outcome_over_time": "outcome over time", "identifier_request": "identifier request",
           "too_vague": "too vague a question"},
}
_SEX = {"es": {"F": "mujeres", "M": "varones"}, "en": {"F": "women", "M": "men"}}
SEX_WORDS = _SEX
_SEX_ONE = {"es": {"F": "mujer", "M": "varón"}, "en": {"F": "woman", "M": "man"}}
_SIDE = {"es": {"left": "izquierda", "right": "derecha", "bilateral": "bilateral"},
         "en": {"left": "left", "right": "right", "bilateral": "bilateral"}}
_EVENTS = {"es": {"post_injection_flare": "dolor tras la infiltración", "effusion": "derrame", "infection": "infección",
                  "hematoma": "hematoma", "vasovagal": "reacción vasovagal", "local_reaction": "reacción local"},
           "en": {"post_injection_flare": "post-injection flare", "effusion": "effusion", "infection": "infection",
                  "hematoma": "haematoma", "vasovagal": "vasovagal reaction", "local_reaction": "local reaction"}}
EXAMPLES = {"es": "por ejemplo: «¿Qué funcionó mejor a los 6 meses en gonartrosis grado 2, PRP o ácido hialurónico?»",
            "en": "for example: \"What worked better at 6 months for knee osteoarthritis grade 2, PRP or hyaluronic acid?\""}
REFUSAL = {
    "es": "No puedo dar nombres, números de historia, teléfonos, direcciones ni otros datos que identifiquen a "
          "pacientes: Casewise solo guarda casos desidentificados. La petición queda registrada como rechazada. "
          "Puedo responder con casos desidentificados (PT-…): por ejemplo, cuántos casos hay o qué funcionó.",
    "en": "I cannot give names, record numbers, phone numbers, addresses or anything else that identifies patients: "
          "Casewise holds de-identified cases only. The request is recorded as refused. I can answer with "
          "de-identified cases (PT-…): for example, how many there are or what worked.",
}


def _term(term_id: str, lang: Language) -> str:
    return term_label(term_id, lang)


def _months(x: float, lang: Language) -> str:
    return number(x, lang, "{:g}")


def _join(items: list[str], lang: Language, word: str | None = None) -> str:
    conj = word or ("y" if lang == "es" else "and")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conj} " + items[-1]


def understood_as(plan: QuestionPlan) -> str:
    """One line saying how the question was read: intent, condition, profile, prior treatments, arms, scale, times."""
    lang = plan.language
    es = lang == "es"
    parts = [" + ".join(INTENT_WORDS[lang][i] for i in [plan.intent, *plan.also])]
    conds = [f"{_term(c.id, lang)}{f' ({c.icd10})' if c.icd10 else ''}" for c in plan.conditions]
    conds += [f"{_term(c, lang)} ({'fuera del vocabulario de la clínica' if es else 'not in the clinic vocabulary'})"
              for c in plan.unknown_conditions]
    if conds:
        parts.append(_join(conds, lang, "o" if es else "or"))
    p = plan.profile
    prof: list[str] = []
    if p.sex:
        prof.append((_SEX_ONE if p.single_patient else _SEX)[lang][p.sex])
    if p.age is not None:
        prof.append(f"{p.age} {'años' if es else 'years'}")
    if p.age_min is not None and p.age_max is not None:
        prof.append(f"{p.age_min}-{p.age_max} {'años' if es else 'years'}")
    elif p.age_min is not None:
        prof.append(f"≥{p.age_min} {'años' if es else 'years'}")
    elif p.age_max is not None:
        prof.append(f"≤{p.age_max} {'años' if es else 'years'}")
    if p.severity is not None:
        prof.append(f"KL{p.severity}")
    if p.side:
        prof.append(_SIDE[lang][p.side])
    if p.duration_months is not None:
        prof.append(f"{_months(p.duration_months, lang)} {'meses de evolución' if es else 'months of symptoms'}")
    if p.comorbidities:
        prof.append(", ".join(c.replace("_", " ") for c in p.comorbidities))
    if prof:
        parts.append(", ".join(prof))
    if plan.prior_treatments:
        names = _join([_term(t, lang) for t in plan.prior_treatments], lang)
        parts.append(f"{'tras' if es else 'after'} {names}")
    if plan.exclusions:
        names = _join([_term(t, lang) for t in plan.exclusions], lang, "ni" if es else "nor")
        parts.append(f"{'sin' if es else 'excluding'} {names}")
    arms = [_term(t, lang) for t in plan.treatments] + [_term(t, lang) for t in plan.unknown_treatments]
    if len(arms) >= 2:
        parts.append(f"{'comparando' if es else 'comparing'} {' vs '.join(arms)}")
    elif arms:
        parts.append(f"{'con' if es else 'with'} {arms[0]}")
    if plan.sessions:
        parts.append(f"{plan.sessions} {'sesiones' if es else 'sessions'}")
    scales = [measure_name(m, lang) for m in plan.measures] + plan.unrecorded_measures
    if scales:
        parts.append(f"{'en' if es else 'on'} {_join(scales, lang)}")
    if plan.time_points:
        parts.append(f"{'a los' if es else 'at'} {_join([_months(t, lang) for t in plan.time_points], lang)} "
                     f"{'meses' if es else 'months'}")
    return ("Entendido como: " if es else "Understood as: ") + "; ".join(parts) + "."


def _not_found_line(nf: NotFound, plan: QuestionPlan, lang: Language) -> str:
    es = lang == "es"
    cond = _join([_term(c, lang) for c in plan.condition_ids], lang, "o" if es else "or") if plan.conditions else ""
    if nf.kind == "condition":
        return (f"No hay ningún caso de {_term(nf.value, lang)} en los registros de la clínica." if es else
                f"The clinic's records hold no case of {_term(nf.value, lang)}.")
    if nf.kind == "treatment":
        where = f" {'en' if es else 'for'} {cond}" if cond else ""
        # the cohort asked for is the cases treated with a prior treatment first: say so, or the line reads as if
        # the treatment were never given for the condition at all
        prior = _join([_term(t, lang) for t in plan.prior_treatments], lang, "o" if es else "or") \
            if plan.prior_treatments else ""
        after = f" {'después de' if es else 'after'} {prior}" if prior else ""
        return (f"Ningún caso{where} recibió {_term(nf.value, lang)}{after} en los registros de la clínica." if es else
                f"No case{where} in the clinic's records received {_term(nf.value, lang)}{after}.")
    if nf.kind == "measure":
        held = ", ".join(measure_name(m, lang) for m in nf.recorded) or ("ninguna" if es else "none")
        return (f"La clínica no registra {measure_name(nf.value, lang)} en estos casos (registra: {held})." if es else
                f"The clinic does not record {measure_name(nf.value, lang)} for these cases (it records: {held}).")
    if nf.kind == "time_point":
        held = ", ".join(nf.recorded) or ("ninguno" if es else "none")
        return (f"No hay seguimiento registrado a los {nf.value} meses (hay: {held} meses)." if es else
                f"No follow-up at {nf.value} months is recorded (recorded: {held} months).")
    if plan.prior_treatments and cond:
        prior = _join([_term(t, lang) for t in plan.prior_treatments], lang, "o" if es else "or")
        return (f"Ningún caso de {cond} de los registros recibió otro tratamiento después de {prior}." if es else
                f"No case of {cond} in the clinic's records received another treatment after {prior}.")
    return ("Ningún caso de los registros coincide con lo preguntado." if es else
            "No case in the clinic's records matches what was asked.")


def _primary(plan: QuestionPlan, cohort: Cohort) -> list[str]:
    asked = [m for m in plan.measures if m in cohort.measures_recorded]
    if asked:
        return asked
    return [m for m in PREFERRED if m in cohort.measures_recorded][:1] or cohort.measures_recorded[:1]


def _stat_text(s: MeasureStat, lang: Language) -> str:
    es = lang == "es"
    iqr = f", {'RIC' if es else 'IQR'} {number(s.iqr[0], lang)} {'a' if es else 'to'} {number(s.iqr[1], lang)}" \
        if s.iqr else ""
    share = f"; {round((s.mcid_share or 0) * 100)} % {'alcanzó la DMCI' if es else 'reached the MCID'} ({s.mcid:g})" \
        if s.mcid_share is not None and s.mcid else ""
    return (f"{measure_name(s.measure, lang)} {'a los' if es else 'at'} {_months(s.months, lang)} "
            f"{'meses' if es else 'months'}: {'cambio mediano' if es else 'median change'} {_num(s.median_change, lang)}"
            f"{iqr} (n={s.n}){share}")


def _better(s: MeasureStat | None, vocab_higher: bool) -> float:
    if s is None:
        return float("inf")
    return -s.median_change if vocab_higher else s.median_change


def _cites(ids: list[str], limit: int = 12) -> str:
    return "[" + ", ".join(ids[:limit]) + (", …" if len(ids) > limit else "") + "]"


def _arm_lines(plan: QuestionPlan, cohort: Cohort, lang: Language) -> tuple[list[str], list[Claim]]:
    es = lang == "es"
    lines: list[str] = []
    claims: list[Claim] = []
    measures = _primary(plan, cohort)
    asked_times = [t for t in plan.time_points if t in cohort.time_points_recorded]
    arms = [a for a in cohort.arms if a.n_cases]
    if plan.intent in ("what_worked", "compare", "similar_cases") and measures:
        m0 = measures[0]
        higher = bool(MEASURES.get(m0, ((), False, 0.0))[1])
        when = asked_times[0] if asked_times else None

        def key(a: Arm) -> float:
            pts = [s for s in a.stats if s.measure == m0 and (when is None or s.months == when)]
            return _better(max(pts, key=lambda s: s.months) if pts else None, higher)

        arms.sort(key=key)
    for arm in arms:
        name = _term(arm.treatment, lang)
        head = f"{name}: {arm.n_cases} {'caso(s)' if es else 'case(s)'}"
        if plan.intent == "regimen":
            reg = arm.regimen
            bits = []
            if reg.sessions:
                sess = ", ".join(f"{k} {'sesión(es)' if es else 'session(s)'} ×{v}" for k, v in reg.sessions.items())
                bits.append(sess + (f" ({'mediana' if es else 'median'} {number(reg.median_sessions, lang, '{:g}')})"
                                    if reg.median_sessions is not None else ""))
            if reg.doses:
                bits.append(("dosis" if es else "doses") + ": " + ", ".join(f"{k} ×{v}" for k, v in reg.doses.items()))
            text = head + "; " + ("; ".join(bits) if bits else ("sin dosis ni sesiones registradas" if es else
                                                                  "no dose or sessions recorded"))
        elif plan.intent == "adverse_events":
            text = (f"{name}: {'efectos adversos en' if es else 'adverse events in'} {arm.n_adverse} "
                    f"{'de' if es else 'of'} {arm.n_cases} {'casos' if es else 'cases'}")
            ids = sorted({e.case_id for e in arm.adverse_events})
            lines.append(f"- {text} {_cites(ids) if ids else ''}".rstrip() + ".")
            claims.append(Claim(text=text, case_ids=ids or arm.case_ids, supported=True, support=1.0))
            for e in arm.adverse_events[:20]:
                after = "" if e.treatment else (" (tratamiento no indicado)" if es else " (treatment not stated)")
                quote = f": «{e.sentence}»" if e.sentence and es else (f': "{e.sentence}"' if e.sentence else "")
                lines.append(f"  - {e.case_id}: {_EVENTS[lang].get(e.event, e.event.replace('_', ' '))}{after}{quote}")
            continue
        else:
            stats = [s for s in arm.stats if s.measure in measures and (not asked_times or s.months in asked_times)]
            if plan.intent in ("what_worked", "similar_cases") and not asked_times:
                by: dict[str, MeasureStat] = {}
                for s in stats:  # the latest follow-up of each measure
                    if s.measure not in by or s.months > by[s.measure].months:
                        by[s.measure] = s
                stats = list(by.values())
            text = head + ("; " + "; ".join(_stat_text(s, lang) for s in stats) if stats else
                           ("; sin resultados medidos en lo preguntado" if es else "; no measured outcome for what was asked"))
        lines.append(f"- {text} {_cites(arm.case_ids)}.")
        claims.append(Claim(text=text, case_ids=arm.case_ids, supported=True, support=1.0))
    return lines, claims


def plan_answer(question: str, language: Language, plan: QuestionPlan, cohort: Cohort | None, evidence: Evidence,
                nearest: list[SimilarCase] | None = None) -> Answer:
    """The answer to a planned question from the cohort tables alone: how it was understood, what the records lack
    (first), then the numbers, each line citing its cases. Another condition's cases are never evidence: they are
    listed, uncited, as the nearest cases only."""
    es = language == "es"
    plan = plan.model_copy(update={"language": language})
    lines = [understood_as(plan)]
    claims: list[Claim] = []
    flags: list[str] = []
    cited: list[str] = []
    if plan.intent == "identifier_request":
        lines.append(REFUSAL[language])
        return Answer(question=question, language=language, text="\n".join(lines), evidence=evidence, mode="evidence",
                      abstained=True, refused=True, flags=["identifier_request_refused"], notice=NOTICE[language],
                      plan=plan)
    if plan.intent == "too_vague":
        lines.append(("Falta la afección o el tratamiento (y si puede, el paciente y la escala); "
                      if es else "Missing: the condition or the treatment (and, if you can, the patient and the "
                                 "scale); ") + EXAMPLES[language])
        return Answer(question=question, language=language, text="\n".join(lines), evidence=evidence, mode="evidence",
                      abstained=True, flags=["clarification_needed"], notice=NOTICE[language], plan=plan)
    assert cohort is not None
    for nf in cohort.not_found:
        lines.append(_not_found_line(nf, plan, language))
    if cohort.not_found:
        flags.append("not_found")
    if cohort.n_cases == 0 and evidence.nearest_cohort is not None:
        # Nothing has what was asked, but the asked condition has other cases: what they received, said to be that.
        loose = evidence.nearest_cohort
        cond = _join([_term(c, language) for c in plan.condition_ids], language, "o" if es else "or")
        prior = _join([_term(t, language) for t in plan.prior_treatments], language, "o" if es else "or") \
            if plan.prior_treatments else ""
        # the loosened cohort drops the prior treatments too: its arms may hold the asked treatment, given first
        which = ((f"hayan recibido o no antes {prior}" if es else f"whether or not they received {prior} first")
                 if prior else ("con otros tratamientos" if es else "with other treatments"))
        sep = ", " if prior else " "
        lines.append((f"Lo más cercano registrado, no lo mismo que se preguntó: {loose.n_cases} caso(s) de {cond}"
                      f"{sep}{which}; por tratamiento:") if es else
                     (f"The nearest that is recorded, not what was asked: {loose.n_cases} case(s) of {cond}"
                      f"{sep}{which}; per treatment:"))
        arm_lines, arm_claims = _arm_lines(plan, loose, language)
        lines += arm_lines
        cited = list(dict.fromkeys(cid for c in arm_claims for cid in c.case_ids))
        return Answer(question=question, language=language, text="\n".join(lines),
                      citations=[Citation(case_id=c) for c in cited], claims=arm_claims, evidence=evidence,
                      mode="evidence", abstained=True, flags=flags or ["not_found"], notice=NOTICE[language], plan=plan)
    if cohort.n_cases == 0:
        near = [sc for sc in (nearest or []) if sc.case is not None][:5]
        if near:
            items = [f"{sc.case_id} ({', '.join(_term(d.name, language) for d in sc.case.diagnoses) or '?'})"
                     for sc in near if sc.case is not None]
            if plan.conditions:
                head = ("Casos más cercanos de la misma afección, sin lo preguntado (no son prueba): " if es else
                        "Nearest cases of the same condition, without what was asked (no evidence for it): ")
            else:
                head = ("Casos más cercanos, no de la misma afección (no son prueba de lo preguntado): " if es else
                        "Nearest cases, not the same condition (no evidence for what was asked): ")
            lines.append(head + ", ".join(items) + ".")
        return Answer(question=question, language=language, text="\n".join(lines), evidence=evidence, mode="evidence",
                      abstained=True, flags=flags or ["not_found"], notice=NOTICE[language], plan=plan)
    if any(nf.kind in ("measure", "time_point", "treatment") for nf in cohort.not_found):
        lines.append("Lo más cercano registrado, no lo mismo que se preguntó:" if es else
                     "The nearest that is recorded, not what was asked:")
    part_lines, part_claims, cited = sections(plan, cohort, evidence, language, [plan.intent, *plan.also])
    lines += part_lines
    claims += part_claims
    return Answer(question=question, language=language, text="\n".join(lines),
                  citations=[Citation(case_id=c) for c in cited], claims=claims, evidence=evidence, mode="evidence",
                  abstained=False, flags=flags, notice=NOTICE[language], plan=plan)


def sections(plan: QuestionPlan, cohort: Cohort, evidence: Evidence, language: Language, intents: list[str],
             *, heading_from: int = 1) -> tuple[list[str], list[Claim], list[str]]:
    """The lines answering each asked part over the same cohort, each part from `heading_from` on under its own
    heading; their claims, and the cases they cite."""
    lines: list[str] = []
    claims: list[Claim] = []
    cited: list[str] = []
    for n, intent in enumerate(intents):
        part_lines, part_claims, part_cited = _section(plan.model_copy(update={"intent": intent}), cohort, evidence,
                                                       language)
        if n >= heading_from:  # the cohort's size was said by the first part: the heading names the part
            words = INTENT_WORDS[language][intent]
            heading = f"{words[:1].upper()}{words[1:]}"
            if intent not in ("count", "list") and n:
                part_lines = part_lines[1:]
                heading += ", por tratamiento" if language == "es" else ", per treatment"
            lines.append(heading + ":")
        lines += part_lines
        claims += part_claims
        cited = list(dict.fromkeys(cited + part_cited))
    return lines, claims, cited


def _section(plan: QuestionPlan, cohort: Cohort, evidence: Evidence, language: Language
             ) -> tuple[list[str], list[Claim], list[str]]:
    """The lines answering one intent over the cohort, their claims, and the cases they cite."""
    es = language == "es"
    lines: list[str] = []
    claims: list[Claim] = []
    cited: list[str] = []
    total = cohort.n_cases
    cond = _join([_term(c, language) for c in plan.condition_ids], language, "o" if es else "or") \
        if plan.conditions else ("todas las afecciones" if es else "any condition")
    if plan.intent == "count":
        lines.append(f"{total} {'caso(s)' if es else 'case(s)'} ({cond}) {'de' if es else 'of'} {cohort.total_cases} "
                     f"{'en los registros de la clínica' if es else 'in the clinic records'} {_cites(cohort.case_ids)}.")
        claims.append(Claim(text=lines[-1], case_ids=cohort.case_ids, supported=True, support=1.0))
        for arm in cohort.arms:
            if plan.treatments and arm.n_cases:
                lines.append(f"- {_term(arm.treatment, language)}: {arm.n_cases} {_cites(arm.case_ids)}.")
        cited = cohort.case_ids
    elif plan.intent == "list":
        lines.append(f"{total} {'caso(s)' if es else 'case(s)'} ({cond}): " + ", ".join(cohort.case_ids[:100])
                     + (", …" if total > 100 else "") + ".")
        claims.append(Claim(text=lines[-1], case_ids=cohort.case_ids, supported=True, support=1.0))
        cited = cohort.case_ids
    else:
        lines.append(f"{total} {'caso(s) en los registros' if es else 'case(s) in the records'} ({cond}); "
                     + ("por tratamiento:" if es else "per treatment:"))
        arm_lines, arm_claims = _arm_lines(plan, cohort, language)
        lines += arm_lines
        claims += arm_claims
        cited = list(dict.fromkeys(cid for c in arm_claims for cid in c.case_ids))
        if plan.intent == "similar_cases" and evidence.cases:
            same = [sc.case_id for sc in evidence.cases if sc.case is not None
                    and (not plan.conditions or {d.name for d in sc.case.diagnoses} & set(plan.condition_ids))]
            if same:
                lines.append(("Casos más parecidos: " if es else "Most similar cases: ") + ", ".join(same) + ".")
                cited = list(dict.fromkeys(same + cited))
    return lines, claims, cited
