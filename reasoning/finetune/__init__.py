"""Light fine-tuning of the reasoning model on the clinic's de-identified cases (LoRA SFT) and its local backend.

data.py builds HuatuoGPT-o1 SFT rows from the store's cases; card.py describes them; train.py runs LoRA SFT;
export.py writes the adapter in the layout vLLM's --lora-modules takes; local_llm.py answers with base + adapter
in this process (the comparison harness's "SFT" rows on a machine without vLLM).
"""
