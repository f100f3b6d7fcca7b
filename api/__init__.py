"""The HTTP front end: REST under /v1, an OpenAI-compatible chat endpoint, a chat page, keys and audit."""
