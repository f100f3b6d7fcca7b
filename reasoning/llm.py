"""The chat-model clients, re-exported for the reasoning stage.

They live in `casewise.llm` (the kernel), because indexing's LLM extractor uses the same client with balancing and
failover, and indexing may import only from `casewise` (DESIGN.md: indexing -> casewise).
"""

from casewise.llm import (
    BACKENDS,
    LLM,
    LlamaCppLLM,
    LLMReply,
    LLMStatusError,
    LLMStream,
    Message,
    OpenAICompatibleLLM,
    make_llm,
)

__all__ = ["BACKENDS", "LLM", "LLMReply", "LLMStatusError", "LLMStream", "LlamaCppLLM", "Message",
           "OpenAICompatibleLLM", "make_llm"]
