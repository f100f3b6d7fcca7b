"""Casewise: answer "what worked for patients like this one?" from a clinic's own records, with cited cases."""

__version__ = "0.1.0"
