"""De-identification of clinical notes and tables (Spanish and English): see `Deidentifier`."""

from indexing.deid.deidentifier import ALL_ENTITIES, COLUMN_ROLES, Deidentifier, DeidError
from indexing.deid.types import DeidResult, PhiSpan

__all__ = ["ALL_ENTITIES", "COLUMN_ROLES", "DeidError", "DeidResult", "Deidentifier", "PhiSpan"]
