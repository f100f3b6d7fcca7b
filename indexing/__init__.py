"""Indexing: sources -> parse -> link -> de-identify -> assemble cases -> chunk -> embed -> upsert."""
