"""A base model (+ optional LoRA adapter) answering in this process with transformers + peft.

It implements the same `LLM` protocol as casewise/llm.py, so the comparison harness and the answer checker treat
it like the vLLM or llama.cpp backends. Its purpose is evaluation where no vLLM runs (CPU machines, CI): it is slow
and holds one generation at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from casewise.errors import LLMError
from casewise.llm import LLMReply, LLMStream, Message
from reasoning.finetune.models import ModelError, load_base


class LocalLLM:
    """`model` is the name reported in answers and audit entries (default: the adapter folder's name, or the base)."""

    def __init__(self, base_model: str, adapter_dir: Path | None = None, *, name: str | None = None,
                 device: str = "cpu", dtype: str = "fp32", cache_dir: Path | None = None) -> None:
        model, tok = load_base(base_model, dtype=dtype, device=device, cache_dir=cache_dir)
        if adapter_dir is not None:
            from peft import PeftModel

            if not (Path(adapter_dir) / "adapter_config.json").is_file():
                raise ModelError(f"{adapter_dir}: no adapter_config.json; give the folder written by train or export")
            model = PeftModel.from_pretrained(model, str(adapter_dir))
        model.eval()
        self._model: Any = model
        self._tok: Any = tok
        self._device = device
        self._lock = threading.Lock()
        self.model = name or (Path(adapter_dir).name if adapter_dir is not None else base_model)
        self.max_context = int(getattr(model.config, "max_position_embeddings", 4096) or 4096)

    def complete(self, messages: Sequence[Message], *, max_tokens: int, temperature: float,
                 response_format: dict[str, Any] | None = None) -> LLMReply:
        """One chat completion: the chat template, then greedy decoding (or sampling when temperature > 0)."""
        import torch

        if response_format is not None and response_format.get("type") not in (None, "text"):
            raise LLMError(f"the local backend {self.model!r} cannot constrain output to {response_format.get('type')}")
        ids = self._tok.apply_chat_template(list(messages), add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        input_ids = ids["input_ids"].to(self._device)
        n_prompt = int(input_ids.shape[1])
        if n_prompt + max_tokens > self.max_context:
            raise LLMError(f"the prompt ({n_prompt} tokens) does not fit the {self.max_context}-token context of "
                           f"{self.model!r}: lower retrieval.top_cases or llm.max_tokens")
        sample = temperature > 0
        with self._lock, torch.no_grad():
            out = self._model.generate(
                input_ids=input_ids, attention_mask=ids["attention_mask"].to(self._device),
                max_new_tokens=max_tokens, do_sample=sample, temperature=temperature if sample else None,
                top_p=None, top_k=None, pad_token_id=self._tok.pad_token_id,
            )
        new = out[0, n_prompt:]
        eos = self._tok.eos_token_id
        finished = bool(len(new) and int(new[-1]) == eos) or len(new) < max_tokens
        text = self._tok.decode(new, skip_special_tokens=True)
        return LLMReply(text=text, model=self.model, prompt_tokens=n_prompt, completion_tokens=len(new),
                        finish_reason="stop" if finished else "length")

    def stream(self, messages: Sequence[Message], *, max_tokens: int, temperature: float) -> LLMStream:
        """The whole reply as one delta (evaluation does not need token-by-token output)."""
        reply = self.complete(messages, max_tokens=max_tokens, temperature=temperature)
        meta = {"model": reply.model, "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens, "finish_reason": reply.finish_reason}
        return LLMStream(iter([reply.text]), self.model, lambda: meta)
