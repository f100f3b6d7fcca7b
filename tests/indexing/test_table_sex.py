"""A table's sex column read as the clinic wrote it: 'Mujer' is a woman (it once counted as male by its first
letter, M), a bare M follows the column's coding (H/M: mujer; M/F: male), and a numeric code is not guessed.
Invented rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.tables import detect_roles, read_table, records


def _sexes(tmp_path: Path, header: str, values: list[str]) -> list[str | None]:
    rows = "\n".join(f"{1000 + i};{v};Gonartrosis;PRP" for i, v in enumerate(values))
    path = tmp_path / "t.csv"
    path.write_text(f"NHC;{header};Diagnóstico;Tratamiento\n{rows}\n", encoding="utf-8")
    df = read_table(path)
    return [r.sex for r in records(df, detect_roles(list(df.columns)), path)]


@pytest.mark.parametrize(("header", "values", "want"), [
    ("Sexo", ["Mujer", "Hombre", "Varón", "Femenino", "Masculino"], ["F", "M", "M", "F", "M"]),
    ("Sexo", ["M", "H", "M"], ["F", "M", "F"]),
    ("Sex", ["M", "F", "Female", "Male"], ["M", "F", "F", "M"]),
    ("Sexo", ["1", "2", ""], [None, None, None]),
])
def test_the_sex_column_as_written(tmp_path: Path, header: str, values: list[str], want: list[str | None]) -> None:
    assert _sexes(tmp_path, header, values) == want
