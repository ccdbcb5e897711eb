"""The benchmark's `explain` section: the Explain views against one forward pass, in the same interleaved rounds.

One forward pass is what fill-mask costs: the encoder on the 16-token sentence and the MLM head at the mask. The
logit lens is timed from scratch (the analysis pass with hidden states, then the head on all 25 states); occlusion
from the analysis record's f(input) (one batch of one row per context token); integrated gradients with 20 steps
(21 rows, forward and backward, in one batch), gradient x input included.

Beside each, the same rows through transformers alone (BertForPreTraining's full forward, logits at every token),
so a ratio over target can be told apart from the hardware's floor: on a CPU one 16-token pass reads every weight
for little arithmetic, while a batch of rows is bound by arithmetic.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from bertlens.analysis import analyse
from bertlens.encoding import encode
from bertlens.explain import (ExplainInput, analysis_f, baseline_ids, integrated_gradients, kept_positions, logit_lens,
                              occlusion, resolve_target)
from bertlens.fill_mask import forward
from bertlens.jobs import first_estimate
from bertlens.model import LoadedModel
from bertlens.registry import get

# [CLS] The doctor told the nurse that [MASK] would be late for the meeting . [SEP]: 16 tokens.
EXPLAIN_TEXT = "The doctor told the nurse that [MASK] would be late for the meeting."
TARGET, CONTRAST = "he", "she"
IG_STEPS = 20
GPU_IG_LIMIT_MS = 60.0
TARGETS = {"lens": 1.2, "occlusion": 3.0, "ig": 15.0}


def measure(lm: LoadedModel, timed: Callable[[dict[str, Callable[[], Any]]], dict[str, Any]],
            cuda: bool) -> list[dict[str, Any]]:
    """The explain rows, as keyword arguments of devtools.bench.Row, for the float32 model `lm`.

    `timed(contenders)` runs the contenders in interleaved rounds and returns their timings (with `median_ms`).
    """
    tokens = len(lm.tokenizer(EXPLAIN_TEXT)["input_ids"])
    target = resolve_target(lm, EXPLAIN_TEXT, TARGET, CONTRAST)
    encoded = encode(lm, EXPLAIN_TEXT)
    record = analyse(lm, EXPLAIN_TEXT, hidden_states=True)
    f_input = analysis_f(record, target)
    times = timed({
        "forward": lambda: forward(lm, encoded, EXPLAIN_TEXT),
        "lens": lambda: logit_lens(lm, analyse(lm, EXPLAIN_TEXT, hidden_states=True), target),
        "lens_only": lambda: logit_lens(lm, record, target),
        "occlusion": lambda: occlusion(lm, target, f_input=f_input),
        "ig": lambda: integrated_gradients(lm, target, IG_STEPS),
        "occlusion_ref": reference_occlusion(lm, encoded.input_ids, target),
        "ig_ref": reference_gradients(lm, encoded.input_ids, target),
    })
    one = times["forward"].median_ms
    layers = lm.info.layers + 1
    rows = [dict(what=f"one forward pass (encoder + MLM head at the mask), float32, {tokens} tokens",
                 median_ms=one, value=_ms(one))]
    judged = [
        ("lens", f"logit lens from scratch: analysis pass with hidden states + the whole head on {layers} states"),
        ("occlusion", f"occlusion: {tokens - 3} rows (one per context token) in one batch"),
        ("ig", f"integrated gradients, {IG_STEPS} steps ({IG_STEPS + 1} rows, forward + backward, one batch; "
               "gradient x input included)"),
    ]
    for name, what in judged:
        ms = times[name].median_ms
        ratio = ms / one
        limit = TARGETS[name]
        if name == "ig" and cuda:
            target_text, met = f"<= {GPU_IG_LIMIT_MS:g} ms (GPU)", ms <= GPU_IG_LIMIT_MS
        else:
            target_text = f"<= {limit:g}x one forward pass" + (" (CPU)" if name == "ig" else "")
            met = ratio <= limit
        rows.append(dict(what=what, median_ms=ms, value=_ms(ms), ratio=ratio, target=target_text, met=met))
        if name + "_ref" in times:
            ref = times[name + "_ref"].median_ms
            rows.append(dict(what=f"the same rows through transformers alone (BertForPreTraining, no hooks); BERT "
                                  f"Lens / transformers = {ms / ref:.2f}", median_ms=ref, value=_ms(ref),
                             ratio=ref / one))
    lens_only = times["lens_only"].median_ms
    rows.append(dict(what=f"logit lens given the analysis record (the head on {layers} states only)",
                     median_ms=lens_only, value=_ms(lens_only), ratio=lens_only / one))
    for name, method, config in (("occlusion", "occlusion", {}), ("ig", "integrated_gradients", {"steps": IG_STEPS})):
        first = first_estimate(lm, get("explainer", method), ExplainInput(target, record), config)
        rows.append(dict(what=f"the run button's first estimate for {method.replace('_', ' ')} (the model's "
                              f"measured Pace, before a finished run corrects it), against the time above",
                         median_ms=first * 1000, value=_ms(first * 1000), ratio=first * 1000 / times[name].median_ms))
    return rows


def reference_occlusion(lm: LoadedModel, input_ids: torch.Tensor, target: Any) -> Callable[[], Any]:
    """Occlusion's rows (each context token re-masked) through BertForPreTraining's full forward."""
    kept = kept_positions(lm, input_ids, target).cpu()
    rows = [i for i in range(input_ids.shape[-1]) if not kept[i]]
    batch = input_ids.repeat(len(rows), 1)
    for row, position in enumerate(rows):
        batch[row, position] = lm.tokenizer.mask_token_id

    def run() -> Any:
        with torch.inference_mode():
            return lm.model(input_ids=batch).prediction_logits[:, target.position]
    return run


def reference_gradients(lm: LoadedModel, input_ids: torch.Tensor, target: Any) -> Callable[[], Any]:
    """Integrated gradients' 21 path rows, forward and backward, through BertForPreTraining's full forward."""
    embedding = lm.model.bert.embeddings.word_embeddings
    with torch.inference_mode():
        x, b = embedding(input_ids), embedding(baseline_ids(lm, input_ids, target, "mask"))
    x, b = x.clone(), b.clone()
    alphas = torch.linspace(0, 1, IG_STEPS + 1, device=x.device)[:, None, None]

    def run() -> Any:
        with torch.enable_grad():
            path = (b + alphas * (x - b)).detach().requires_grad_(True)
            logits = lm.model(inputs_embeds=path).prediction_logits[:, target.position]
            f = logits[:, target.token_id] - logits[:, target.contrast_id]
            return torch.autograd.grad(f.sum(), path)[0]
    return run


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms"
