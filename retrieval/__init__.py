"""Retrieval: hybrid search, filters, grouping by case, re-ranking, and the 'what worked' evidence table."""
