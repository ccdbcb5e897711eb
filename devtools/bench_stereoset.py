"""The benchmark's `stereoset` section: BERT Lens's batched StereoSet against a one-example-at-a-time loop written
from the authors' recipe (moinnadeem/StereoSet `eval_discriminative_models.py`, batch size 1), on the same subset,
in one run.

The real dev set is CC BY-SA 4.0 and is not shipped, so the section scores a synthetic file in its layout and of
its size: 2,106 intrasentence and 2,123 intersentence examples with the dev set's counts per domain, sentences of
about its length (6 to 9 words), and template words of one to five WordPieces. The loop is timed on a subset
(every n-th example of each split; all of them on a GPU) and BERT Lens on the same subset; the whole synthetic dev
set is then extrapolated from BERT Lens's time per padded token (or timed in full on a GPU).

The loop does what the authors' code does for BERT: one `BertForPreTraining` forward per masked row (the step's
text tokenised alone, the MLM head and softmax at every position, the probability read at the first [MASK]) and one
per (context, sentence) pair for the NSP head; the three sentences of an example each run their own first step.
"""
from __future__ import annotations

import statistics
import time
from itertools import cycle
from typing import Any, Callable

import torch

from bertlens.bias.stereoset import (BLANK, MAX_ROWS, SPLITS, TOKEN_BUDGET, StereoSetData, batches,
                                     intrasentence_plan, nsp_pairs, parse_stereoset, score_stereoset)
from bertlens.jobs import first_estimate
from bertlens.metrics.stereoset import StereoSet
from bertlens.model import LoadedModel

DEV_COUNTS = {"intrasentence": {"gender": 255, "profession": 810, "race": 962, "religion": 79},
              "intersentence": {"gender": 242, "profession": 827, "race": 976, "religion": 78}}
TARGETS = {
    "gender": ("mother", "father", "sister", "gentlemen", "grandfather", "schoolgirl", "stepmother", "herself"),
    "profession": ("chemist", "nurse", "plumber", "software developer", "bartender", "physicist", "football player",
                   "manager", "prosecutor", "tailor", "mover", "civil servant", "producer", "guitarist"),
    "race": ("Ethiopia", "Crimean", "Afghanistan", "Hispanic", "Cape Verde", "Eritrean", "Norway", "Ghanaian",
             "Persian people", "Sierra Leon", "Vietnam", "Bengali", "Lebanon", "Japanese"),
    "religion": ("Muslim", "Bible", "Brahmin"),
}
VERBS = ("was", "seemed", "is", "looked", "became", "appeared", "sounded", "felt")
ADVERBS = ("very", "quite", "so", "rather")
PLACES = ("at work", "at home", "in class", "today", "yesterday", "at the party", "in town", "on the bus",
          "at school", "in the morning", "at night", "after lunch")
WORDS = ("caring", "lazy", "bossy", "smart", "nurturing", "poor", "rich", "sneaky", "violent", "peaceful", "kind",
         "unathletic", "hardworking", "brilliant", "clumsy", "dangerous", "friendly", "xylophone", "pizza", "quiet",
         "loud", "strict", "gentle", "Zorblaxian", "orange", "honest", "cold", "table", "tall", "greedy")
INTER_CONTEXTS = ("I met a {t} {p}.", "The {t} came to visit us {p}.", "We talked about the {t} {p}.",
                  "My friend saw a {t} {p}.", "There was a {t} {p}.", "A {t} sat next to me {p}.",
                  "I read about the {t} {p}.", "Our new neighbour is a {t}, we met {p}.")
INTER_SENTENCES = ("They were very poor and could not read.", "They had a successful career in science.",
                   "Penguins cannot fly very far.", "He drank too much at the party.",
                   "She fixed the roof of the house herself.", "The printer is out of ink again.",
                   "They were friendly to everyone they met.", "It was dangerous to walk there alone.",
                   "Bananas are yellow when they are ripe.")
SUBSET_STRIDE = 44
TARGET = 20.0


def synthetic_document() -> dict[str, Any]:
    """A StereoSet document of the dev set's size and shape (see the module docstring), in a fixed order. Every
    context is different, as in the dev set, so no masked row is shared between examples."""
    words, sentences = cycle(range(len(WORDS))), cycle(range(len(INTER_SENTENCES)))
    data: dict[str, list] = {split: [] for split in SPLITS}
    for split in SPLITS:
        n = 0
        for domain, count in DEV_COUNTS[split].items():
            targets = TARGETS[domain]
            for k in range(count):
                target = targets[k % len(targets)]
                rest = k // len(targets)
                n += 1
                if split == "intrasentence":
                    verb, adverb, place = VERBS[rest % 8], ADVERBS[(rest // 8) % 4], PLACES[(rest // 32) % 12]
                    context = f"The {target} {verb} {adverb} {BLANK} {place}."
                    picked = [WORDS[next(words)] for _ in range(3)]
                    texts = [context.replace(BLANK, w) for w in picked]
                else:
                    context = INTER_CONTEXTS[rest % 8].format(t=target, p=PLACES[(rest // 8) % 12])
                    texts = [INTER_SENTENCES[next(sentences)] for _ in range(3)]
                data[split].append({
                    "id": f"{split[:5]}{n:05d}", "target": target, "bias_type": domain, "context": context,
                    "sentences": [{"id": f"{split[:5]}{n:05d}-{g}", "sentence": s, "gold_label": g,
                                   "labels": [{"label": g, "human_id": "synthetic"}]}
                                  for g, s in zip(("stereotype", "anti-stereotype", "unrelated"), texts)]})
    return {"version": "synthetic-dev-shape", "data": data}


def synthetic_dev() -> StereoSetData:
    import json

    return parse_stereoset(json.dumps(synthetic_document()).encode(), "the synthetic dev-sized file")


def subset(data: StereoSetData, stride: int) -> StereoSetData:
    import dataclasses

    return dataclasses.replace(data, intrasentence=data.intrasentence[::stride],
                               intersentence=data.intersentence[::stride])


def authors_loop(lm: LoadedModel, data: StereoSetData) -> dict[str, float]:
    """Every sentence's score, one forward pass per row and per pair, as the authors' evaluator runs BERT with
    batch size 1: a masked row through the encoder and the MLM head at every position (BertForMaskedLM), a pair
    through the encoder, the pooler and the NSP head (BertForNextSentencePrediction), on the same weights."""
    tok, model = lm.tokenizer, lm.model
    device = lm.device
    scores: dict[str, float] = {}
    with torch.inference_mode():
        for example in data.intrasentence:
            for sentence in example.sentences:
                pieces = tok(sentence.word, add_special_tokens=False)["input_ids"]
                probabilities = []
                for step, piece in enumerate(pieces):
                    text = example.context.replace(BLANK, f"{tok.decode(pieces[:step])}{tok.mask_token}")
                    encoded = tok(text, return_tensors="pt")
                    ids = encoded["input_ids"].to(device)
                    output = model(input_ids=ids, attention_mask=encoded["attention_mask"].to(device),
                                   token_type_ids=encoded["token_type_ids"].to(device)
                                   ).prediction_logits.softmax(dim=-1)
                    at_mask = output[ids == tok.mask_token_id]
                    probabilities.append(at_mask.index_select(1, torch.tensor([piece], device=device)).diag()[0]
                                         .item())
                scores[sentence.id] = float(sum(probabilities) / len(probabilities))
        for example in data.intersentence:
            context = tok.convert_tokens_to_ids(tok.tokenize(example.context))
            for sentence in example.sentences:
                ids = [tok.cls_token_id, *context, tok.sep_token_id,
                       *tok.convert_tokens_to_ids(tok.tokenize(sentence.text)), tok.sep_token_id]
                types = [0] * (len(context) + 2) + [1] * (len(ids) - len(context) - 2)
                pooled = model.bert(input_ids=torch.tensor([ids], device=device),
                                    token_type_ids=torch.tensor([types], device=device)).pooler_output
                logits = model.cls.seq_relationship(pooled)
                scores[sentence.id] = torch.softmax(logits, dim=1)[0, 0].item()
    return scores


def padded_tokens(lm: LoadedModel, data: StereoSetData, budget: int) -> int:
    """The padded tokens BERT Lens runs for `data`: rows and pairs sorted by length, batched within `budget`."""
    rows = intrasentence_plan(lm, list(data.intrasentence))[0]
    pairs = [ids for _, ids, _ in nsp_pairs(lm, list(data.intersentence))]
    total = 0
    for items in (rows, pairs):
        lengths = [len(x) for x in items]
        order = sorted(range(len(items)), key=lambda i: lengths[i])
        total += sum(len(b) * max(lengths[i] for i in b) for b in batches(lengths, order, budget, MAX_ROWS))
    return total


def matmul_peak(device: torch.device, rows: int = 2048, seconds: float = 1.0) -> tuple[float, str]:
    """This device's float32 matrix-product rate in FLOP/s, measured on the encoder's largest product (a batch of
    `rows` tokens through the 1024 x 4096 feed-forward matrix), and the shape measured."""
    a = torch.randn(rows, 1024, device=device)
    b = torch.randn(1024, 4096, device=device)
    for _ in range(3):
        a @ b
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 3:
        a @ b
        runs += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = (time.perf_counter() - start) / runs
    return 2 * rows * 1024 * 4096 / elapsed, f"{rows} x 1024 by 1024 x 4096"


def linear_flops(lm: LoadedModel, tokens: int, masked_rows: int) -> float:
    """The FLOPs of the encoder's Linear layers for `tokens` padded tokens, plus the MLM head at `masked_rows`
    [MASK] positions: a lower bound of the work, since attention, GELU and layer norm come on top."""
    config = lm.model.config
    h, inner, vocab = config.hidden_size, config.intermediate_size, config.vocab_size
    per_token = config.num_hidden_layers * (4 * h * h + 2 * h * inner)
    return 2.0 * (tokens * per_token + masked_rows * (h * h + h * vocab))


def _timed(fn: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    value = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, value


def measure(model: Callable[[str], LoadedModel], cuda: bool, repeats: int = 1,
            stride: int | None = None) -> list[dict[str, Any]]:
    """The stereoset rows, as keyword arguments of devtools.bench.Row. `model(dtype)` gives the loaded model."""
    lm = model("float32")
    full = synthetic_dev()
    stride = stride or (1 if cuda else SUBSET_STRIDE)
    part = subset(full, stride)
    rows_intra, _, plans = intrasentence_plan(lm, list(part.intrasentence))
    steps = sum(len(p.pieces) for p in plans)
    passes = steps + 3 * len(part.intersentence)
    score_stereoset(lm, subset(part, 8), resamples=0)  # warm-up
    loop_s, reference = _timed(lambda: authors_loop(lm, part), lm.device)
    runs, result = [], None
    for _ in range(max(1, repeats)):
        seconds, result = _timed(lambda: score_stereoset(lm, part, resamples=0), lm.device)
        runs.append(seconds)
    ours_s = statistics.median(runs)
    ours = {s.id: e.scores[i] for e in result.examples for i, s in enumerate(e.example.sentences)}
    worst = max(abs(ours[k] - v) / max(abs(v), 1e-30) for k, v in reference.items())
    same = sum((ours[e.sentences[0].id] > ours[e.sentences[1].id]) ==
               (reference[e.sentences[0].id] > reference[e.sentences[1].id])
               for e in part.examples())
    n = part.count()
    threads = "" if cuda else f", {torch.get_num_threads()} torch thread(s)"
    where = "the whole synthetic dev set" if stride == 1 else \
        f"every {stride}th example of each split of a synthetic dev-sized file"
    speedup = loop_s / ours_s
    out = [
        dict(what=f"authors' recipe, one example at a time (batch size 1, float32{threads}): {n} examples ({where}: "
                  f"{len(part.intrasentence)} intrasentence, {len(part.intersentence)} intersentence), "
                  f"{passes} forward passes", median_ms=loop_s * 1000, value=f"{loop_s:.1f} s"),
        dict(what=f"BERT Lens, float32, same examples: {len(rows_intra)} distinct masked rows (each example's first "
                  f"step shared by its 3 sentences) + {3 * len(part.intersentence)} NSP pairs, padded batches "
                  f"sorted by length", median_ms=ours_s * 1000, value=f"{ours_s:.2f} s", ratio=speedup,
             target=f">= {TARGET:g}x faster than the loop", met=speedup >= TARGET),
        dict(what=f"same scores as the loop: largest relative difference of a sentence's score "
                  f"{worst:.1e}; same stereotype-vs-anti decision on {same}/{n} examples", value=f"{same}/{n}"),
    ]
    tokens = padded_tokens(lm, part, TOKEN_BUDGET)
    if not cuda:
        peak, shape = matmul_peak(lm.device)
        floor_s = linear_flops(lm, tokens, len(rows_intra)) / peak
        best = loop_s / floor_s
        out.append(dict(what=f"float32 floor: the {tokens:,} padded tokens BERT Lens runs, Linear layers only, at this "
                             f"CPU's float32 matrix-product peak ({peak / 1e9:.0f} GFLOP/s on {shape}, measured in "
                             f"this run); no batching of these rows can beat it, so the best float32 ratio here is "
                             f"{best:.1f}x", median_ms=floor_s * 1000, value=f"{floor_s:.2f} s", ratio=best))
    if not cuda or stride == 1:
        low = model("bfloat16")
        score_stereoset(low, subset(part, 8), resamples=0)
        low_s, low_result = _timed(lambda: score_stereoset(low, part, resamples=0), lm.device)
        agree = sum(a.decision == b.decision for a, b in zip(low_result.examples, result.examples))
        out.append(dict(what=f"BERT Lens, bfloat16 (approximate; the page's precision choice), same examples; "
                             f"same decision as float32 on {agree}/{n} examples", median_ms=low_s * 1000,
                        value=f"{low_s:.2f} s", ratio=loop_s / low_s,
                        target=f">= {TARGET:g}x faster than the loop", met=loop_s / low_s >= TARGET))
    if stride == 1:
        whole_s, how = ours_s, "timed"
        out.append(dict(what=f"the whole synthetic dev set ({full.count():,} examples), float32, timed",
                        median_ms=ours_s * 1000, value=f"{ours_s:.1f} s", ratio=ours_s / (30 if cuda else 900),
                        target="<= 1.0x the budget (30 s on a GPU)" if cuda else "<= 1.0x the budget (15 min on a CPU)",
                        met=ours_s <= (30 if cuda else 900)))
    else:
        scale = padded_tokens(lm, full, TOKEN_BUDGET) / tokens
        estimate = ours_s * scale
        whole_s, how = estimate, "extrapolated"
        out.append(dict(what=f"the whole synthetic dev set ({full.count():,} examples), float32, extrapolated from "
                             f"the subset by padded tokens (x{scale:.1f})", median_ms=estimate * 1000,
                        value=f"{estimate / 60:.1f} min", ratio=estimate / 900,
                        target="<= 1.0x the budget (15 min on a CPU)", met=estimate <= 900))
    first = first_estimate(lm, StereoSet(), full, {"split": "both"})
    out.append(dict(what=f"the run button's first estimate for the whole synthetic dev set (the model's measured "
                         f"Pace, before a finished run corrects it), against the {how} time", median_ms=first * 1000,
                    value=f"{first / 60:.1f} min", ratio=first / whole_s))
    return out


def full_run(lm: LoadedModel, data: StereoSetData) -> tuple[float, int, int]:
    """Time BERT Lens on all of `data`: (seconds, distinct masked rows, NSP pairs)."""
    seconds, result = _timed(lambda: score_stereoset(lm, data, resamples=2000), lm.device)
    return seconds, result.rows, result.pairs


def describe_words(lm: LoadedModel) -> str:
    """How many WordPieces the synthetic template words have (one line, for the notes)."""
    counts = [len(lm.tokenizer(w, add_special_tokens=False)["input_ids"]) for w in WORDS]
    return (f"{len(WORDS)} template words, {sum(c > 1 for c in counts)} of several WordPieces (mean "
            f"{statistics.fmean(counts):.2f}, at most {max(counts)})")


def main(argv: list[str] | None = None) -> int:
    """`python -m devtools.bench_stereoset [--dtype D]`: time BERT Lens on the whole synthetic dev set on the
    full-size random model (the bench section extrapolates it from a subset), with the 2,000-resample bootstrap the
    command line uses."""
    import argparse

    from devtools.random_model import model_folder
    from bertlens.model import load_model
    from bertlens.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m devtools.bench_stereoset", description=main.__doc__)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args(argv)
    lm = load_model(Settings(model=str(model_folder("large")), device=args.device, dtype=args.dtype))
    data = synthetic_dev()
    score_stereoset(lm, subset(data, 200), resamples=0)
    seconds, rows, pairs = full_run(lm, data)
    threads = f", {torch.get_num_threads()} torch threads" if args.device == "cpu" else ""
    print(f"whole synthetic dev set ({data.count():,} examples: {rows:,} masked rows + {pairs:,} NSP "
          f"pairs), {args.dtype} on {args.device}{threads}: {seconds:.1f} s ({seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
