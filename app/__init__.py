"""Composition root and use cases: above the stages (indexing, retrieval, reasoning), below cli/, api/, eval/, bench/."""
