"""De-identification of clinical notes and tables (Spanish and English): see `Deidentifier`."""

from indexing.deid.deidentifier import ALL_ENTITIES, Deidentifier, DeidError
from indexing.deid.types import DeidResult, PhiSpan

__all__ = ["ALL_ENTITIES", "DeidError", "DeidResult", "Deidentifier", "PhiSpan"]
