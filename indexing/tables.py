"""CSV/XLSX treatment tables -> one record per row, through a column mapping (declared or auto-detected).

Only clinical columns are read into records; name, id, address, phone and e-mail columns are never read,
so they cannot reach the index. Free-text columns are returned for de-identification.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casewise.errors import InputFileError
from casewise.vocabulary import fold, measure_id

MAX_ROWS = 1_000_000

# role -> header patterns (accent-folded, lower-case, matched against the whole header)
ROLE_PATTERNS: dict[str, tuple[str, ...]] = {
    "patient_id": (r"nhc", r"mrn", r"n.? ?(de )?historia( clinica)?", r"historia clinica", r"patient ?id", r"id paciente",
                   r"record( number| no\.?)?", r"medical record.*", r"patient_id"),
    "name": (r"paciente", r"nombre( y apellidos)?", r"apellidos?", r"patient( name)?", r"(full )?name", r"first", r"last",
             r"nombre completo"),
    "id": (r"dni", r"nie", r"nif", r"ssn", r"dni/nie", r"passport", r"pasaporte", r"drivers", r"nass", r"insurance.*"),
    "birth_date": (r"f(echa)?\.? ?(de )?nac(imiento)?\.?", r"dob", r"birth ?date", r"date of birth", r"birthdate"),
    "sex": (r"sexo", r"sex", r"gender", r"genero"),
    "age": (r"edad", r"age"),
    "date": (r"fecha( (de )?(visita|tratamiento|infiltracion))?", r"(visit |treatment )?date", r"start"),
    "diagnosis": (r"diagnostico", r"diagnosis", r"dx", r"description"),
    "icd10": (r"cie-?10", r"icd-?10( code)?", r"code"),
    "side": (r"lado", r"side", r"lateralidad", r"laterality"),
    "severity": (r"grado( kl)?", r"kl( grade)?", r"kellgren.*", r"grade", r"severity", r"gravedad"),
    "treatment": (r"tratamiento", r"treatment", r"procedimiento", r"procedure", r"terapia", r"therapy"),
    "dose": (r"dosis", r"dose", r"volumen", r"volume"),
    "sessions": (r"sesiones", r"sessions", r"n.? ?sesiones", r"n.? ?(of )?sessions", r"injections"),
    "adverse": (r"efectos adversos", r"adverse events?", r"complicaciones", r"complications", r"ea"),
    "free_text": (r"observaciones", r"notas?", r"notes?", r"comentarios?", r"comments?"),
    "contact": (r"telefono", r"tel\.?", r"movil", r"phone", r"e-?mail", r"correo", r"direccion", r"domicilio",
                r"address", r"city", r"ciudad", r"town", r"cp", r"zip", r"postal.*", r"state", r"county",
                r"birthplace", r"lat", r"lon", r"poblacion", r"localidad"),
}
_OUTCOME = re.compile(r"^(?P<measure>.+?)[\s_.-]*(?P<tp>basal|baseline|pre|inicial|0|(?P<m>\d+)\s*(m|meses|months?|mo)?)$")


@dataclass
class TableRecord:
    """One table row, clinical fields only (identifiers are never read)."""

    row: int
    patient_ref: str | None
    birth_date: dt.date | None = None
    sex: str | None = None
    age: int | None = None
    date: dt.date | None = None
    diagnosis: str | None = None
    icd10: str | None = None
    side: str | None = None
    severity: str | None = None
    treatment: str | None = None
    dose: str | None = None
    sessions: int | None = None
    outcomes: dict[tuple[str, float], float] = field(default_factory=dict)
    adverse: str | None = None
    free_text: str | None = None


def detect_roles(columns: list[str], declared: dict[str, str] | None = None) -> dict[str, str]:
    """Map each column to a role; declared mappings win; unknown columns are ignored (role 'ignore')."""
    roles: dict[str, str] = {}
    for col in columns:
        if declared and col in declared:
            roles[col] = declared[col]
            continue
        h = fold(str(col)).strip()
        m = _OUTCOME.match(h)
        if m and measure_id(m.group("measure")):
            roles[col] = "outcome"
            continue
        for role, pats in ROLE_PATTERNS.items():
            if any(re.fullmatch(p, h) for p in pats):
                if role in roles.values() and role not in ("contact", "name", "id"):
                    break  # first column of a role wins
                roles[col] = role
                break
        else:
            roles[col] = "ignore"
    return roles


def outcome_key(column: str) -> tuple[str, float] | None:
    m = _OUTCOME.match(fold(column).strip())
    if not m:
        return None
    measure = measure_id(m.group("measure"))
    if not measure:
        return None
    months = float(m.group("m")) if m.group("m") else 0.0
    return measure, months


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(str(path), "empty CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InputFileError(str(path), "undecodable CSV (neither UTF-8 nor Windows-1252)") from None
    if not text.strip():  # bytes.strip() keeps what only decodes to blanks (no-break space, separators)
        raise InputFileError(str(path), "empty CSV")
    header = text.lstrip().splitlines()[0]
    # The header line decides the separator: clinics export with ';' (Spanish Excel), ',' or tabs.
    sep = max(";,\t|", key=header.count)
    decimal = "," if sep == ";" else "."
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, dtype=str, keep_default_na=False,
                         on_bad_lines="error", nrows=MAX_ROWS + 1)
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" at line {line.group(1)}" if line else ""
        raise InputFileError(str(path), f"malformed CSV{where} (wrong number of fields)") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is one clear per-file error
        raise InputFileError(str(path), f"cannot read CSV ({type(exc).__name__})") from None
    return df


def read_table(path: Path) -> pd.DataFrame:
    """Load a CSV/XLSX as strings; raise InputFileError on bad input."""
    if path.suffix.lower() == ".csv":
        df = _read_csv(path)
    else:
        try:
            df = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        except Exception as exc:  # noqa: BLE001 - any reader failure is one clear per-file error
            raise InputFileError(str(path), f"cannot read XLSX ({type(exc).__name__}: corrupt or encrypted?)") from None
    if df.empty or len(df.columns) < 2:
        raise InputFileError(str(path), "table has no data rows or fewer than two columns")
    if len(df) > MAX_ROWS:
        raise InputFileError(str(path), f"table has more than {MAX_ROWS} rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _num(value: str) -> float | None:
    v = str(value).strip().replace(",", ".")
    if not v or v.lower() in ("nan", "na", "n/a", "-", "nd"):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def parse_date(value: str) -> dt.date | None:
    """Dates as clinics write them: ISO, dd/mm/yyyy (Spanish default), Excel timestamps."""
    v = str(value).strip()
    if not v:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d",
                "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    return None


_SEX_WORDS = {"F": ("mujer", "femenino", "femenina", "female", "woman", "f", "w"),
              "M": ("hombre", "varon", "masculino", "male", "man", "h", "v")}


def read_sex(value: str, spanish_letters: bool = False) -> str | None:
    """'F'/'M' from a table's sex cell, by the whole word ('Mujer' is a woman, though it starts with M); a bare 'M'
    by the column's coding (`spanish_letters`: the column also holds H or V); numeric codes are not guessed."""
    v = fold(value).strip().rstrip(".")
    if v == "m":
        return "F" if spanish_letters else "M"
    for sex, words in _SEX_WORDS.items():
        if v in words:
            return sex
    return None


def records(df: pd.DataFrame, roles: dict[str, str], path: Path) -> list[TableRecord]:
    """Turn table rows into TableRecords; identifier columns are skipped, never read."""
    if "patient_id" not in roles.values():
        raise InputFileError(str(path), "no patient column found (expected e.g. NHC, MRN, Nº historia, patient id); "
                                        "declare it in the column mapping")
    col = {role: c for c, role in reversed(list(roles.items()))}
    outcome_cols = [(c, outcome_key(c)) for c, r in roles.items() if r == "outcome"]
    # 'M' is 'mujer' in a column coded H/M (hombre/mujer, or V/M) and 'male' in one coded M/F.
    spanish_letters = "sex" in col and bool({fold(str(v)).strip() for v in df[col["sex"]]} & {"h", "v"})
    out: list[TableRecord] = []
    for i, row in enumerate(df.to_dict(orient="records")):
        def get(role: str, row: dict = row) -> str:  # type: ignore[type-arg]
            return str(row.get(col[role], "")).strip() if role in col else ""

        ref = get("patient_id") or None
        rec = TableRecord(row=i + 2, patient_ref=ref)
        rec.birth_date = parse_date(get("birth_date"))
        rec.sex = read_sex(get("sex"), spanish_letters)
        age = _num(get("age"))
        rec.age = int(age) if age is not None and 0 <= age < 130 else None
        rec.date = parse_date(get("date"))
        rec.diagnosis = get("diagnosis") or None
        rec.icd10 = get("icd10") or None
        rec.side = get("side") or None
        rec.severity = get("severity") or None
        rec.treatment = get("treatment") or None
        rec.dose = get("dose") or None
        sessions = _num(get("sessions"))
        rec.sessions = int(sessions) if sessions is not None and 0 < sessions < 1000 else None
        rec.adverse = get("adverse") or None
        rec.free_text = get("free_text") or None
        for c, key in outcome_cols:
            val = _num(str(row.get(c, "")))
            if key and val is not None:
                rec.outcomes[key] = val
        out.append(rec)
    return out
