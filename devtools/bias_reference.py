"""The bias probe scored the slow way, for the benchmark: one transformers `pipeline("fill-mask", targets=...)` call
per sentence and chain step. `python -m devtools.bench` times it against the batched `bertlens.bias.run_probe`, and
a test checks both give the same scores."""
from __future__ import annotations

import math
import time

from bertlens.bias.config import ProbeConfig, default_config
from bertlens.bias.probe import Progress, ProbeResult, assemble, plan_probe
from bertlens.errors import InputError
from bertlens.model import LoadedModel
from bertlens.text import MASK


def reference_probe(lm: LoadedModel, config: ProbeConfig | None = None,
                    progress: Progress | None = None) -> ProbeResult:
    """The same scores from a per-sentence loop over transformers' `pipeline("fill-mask", targets=...)`.

    One pipeline call per scored sentence (template side x occupation, Kurita target and prior x gendered word),
    and for a word of n WordPieces one call per piece: the text with the earlier pieces filled in and the rest
    masked, the target being the next piece. So multi-piece words are chained exactly as in `run_probe`, and the
    pipeline's own first-piece-only target handling is never relied on. No row is shared or batched: this is what
    the batched probe is measured against.
    """
    lm.require("mlm")
    config = config or default_config()
    plan = plan_probe(lm, config)
    pipe = _pipeline(lm)
    started = time.perf_counter()
    total = sum(len(ids) for _, ids in plan.items)
    done = 0
    scores = []
    for text, ids in plan.items:
        total_lp = 0.0
        for step in range(len(ids)):
            sentence = _filled_text(lm, text, ids, step)
            out = pipe(sentence, targets=[lm.tokenizer.convert_ids_to_tokens(ids[step])], top_k=1)
            first = out[0] if isinstance(out[0], list) else out
            total_lp += math.log(max(first[0]["score"], 1e-45))
            done += 1
            if progress is not None and (done % 10 == 0 or done == total):
                progress(done / total, f"{done} of {total} pipeline calls")
        scores.append(total_lp)
    return assemble(config, plan, scores, time.perf_counter() - started, total, "pipeline loop")


def _filled_text(lm: LoadedModel, text: str, ids: list[int], step: int) -> str:
    """`text` with its first [MASK] replaced by pieces[:step], written out, and masks for the remaining pieces.
    Raises InputError if that text does not tokenise back to exactly the row the batched scorer runs."""
    before, after = text.split(MASK, 1)
    written = lm.tokenizer.convert_tokens_to_string(lm.tokenizer.convert_ids_to_tokens(ids[:step])) if step else ""
    out = before + " ".join(([written] if written else []) + [MASK] * (len(ids) - step)) + after
    encode = lambda part: lm.tokenizer(part, add_special_tokens=False)["input_ids"]  # noqa: E731
    expected = [*encode(before), *ids[:step], *[lm.tokenizer.mask_token_id] * (len(ids) - step), *encode(after)]
    if encode(out) != expected:
        raise InputError(f"'{out}' does not tokenise back to the pieces being scored, so the pipeline cannot "
                         "reproduce this chain step.")
    return out


def _pipeline(lm: LoadedModel):
    """A fill-mask pipeline on the loaded weights: a BertForMaskedLM that shares the encoder and MLM head."""
    if "fill_mask_pipeline" not in lm.memo:
        import torch
        from transformers import BertForMaskedLM, pipeline

        with torch.device("meta"):
            mlm = BertForMaskedLM(lm.model.config)
        mlm.bert = lm.model.bert
        mlm.cls.predictions = lm.model.cls.predictions
        mlm.eval()
        lm.memo["fill_mask_pipeline"] = pipeline("fill-mask", model=mlm, tokenizer=lm.tokenizer, device=lm.device)
    return lm.memo["fill_mask_pipeline"]
