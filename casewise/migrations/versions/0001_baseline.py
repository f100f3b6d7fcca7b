"""Baseline: the schema `create_all` made before migrations (manifest, cases, audit log, API keys).

A table that already exists is left as it is, so a database from before migrations is adopted at this revision
with its rows; a fresh database gets every table.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("documents"):
        op.create_table(
            "documents",
            sa.Column("doc_id", sa.String(length=64), nullable=False),
            sa.Column("source_path", sa.Text(), nullable=False),
            sa.Column("doc_type", sa.String(length=16), nullable=False),
            sa.Column("content_hash", sa.String(length=64), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("case_id", sa.String(length=64), nullable=True),
            sa.Column("chunk_ids", sa.JSON(), nullable=False),
            sa.Column("facts", sa.JSON(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("doc_id"),
            sa.UniqueConstraint("source_path"),
        )
        op.create_index("ix_documents_case_id", "documents", ["case_id"], unique=False)
    if _missing("cases"):
        op.create_table(
            "cases",
            sa.Column("case_id", sa.String(length=64), nullable=False),
            sa.Column("data", sa.JSON(), nullable=False),
            sa.Column("fingerprint", sa.String(length=64), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("case_id"),
        )
    if _missing("audit"):
        op.create_table(
            "audit",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=128), nullable=False),
            sa.Column("action", sa.String(length=64), nullable=False),
            sa.Column("query", sa.Text(), nullable=False),
            sa.Column("case_ids", sa.JSON(), nullable=False),
            sa.Column("detail", sa.JSON(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
        )
    if _missing("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("key_id", sa.String(length=32), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("salt", sa.String(length=64), nullable=False),
            sa.Column("digest", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("key_id"),
        )


def downgrade() -> None:
    for table in ("api_keys", "audit", "cases", "documents"):
        op.drop_table(table)
