"""Reasoning: prompts, LLM backends, output parsing, citation check, abstention."""
