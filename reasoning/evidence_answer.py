"""The answer written from the evidence table alone, when no language model is configured (or it abstains)."""

from __future__ import annotations

from casewise.lang import measure_name, number
from casewise.types import Answer, Citation, Claim, Evidence, EvidenceRow, Language
from casewise.vocabulary import MEASURES, label

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
