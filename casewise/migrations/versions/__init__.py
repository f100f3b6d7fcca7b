"""Alembic revisions of the system of record, oldest first by their numbered names (Alembic skips this file)."""
