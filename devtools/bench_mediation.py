"""The benchmark's `mediation` section: all 384 head NIEs and 48 layer effects for one sentence pair, against one
forward pass of the same sentence and against the naive loop, in one run.

- one forward pass: the encoder on the sentence and the MLM head at the mask (what fill-mask costs);
- ours (`bertlens.mediation.mediate`): the two recorded passes (x and x′) and 432 patched variants of x, batched,
  each computed from its patched layer on, the last layer at the mask only;
- the naive loop: one full patched pass per head and per layer (432, plus x and x′), each through
  `bertlens.forward.encoder`. On a CPU it is timed on every `stride`-th variant and scaled up to 432; its effects
  are compared with ours on the variants it ran.

All three run in the same interleaved rounds, so a burst of load from another process hits them alike.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from bertlens import forward
from bertlens.encoding import encode
from bertlens.interventions import Interventions
from bertlens.mediation import mediate, naive_passes, prepare, target_logit_gap, variants
from bertlens.model import LoadedModel

# [CLS] The nurse said that [MASK] would be late for the meeting . [SEP]: 14 tokens.
TEXT = "The nurse said that [MASK] would be late for the meeting."
SWAP, TARGETS = "nurse=man", "she,he"
CPU_LIMIT = 120.0
GPU_LIMIT_MS = 2000.0
CPU_STRIDE = 16
TOP = 5


def measure(lm: LoadedModel, timed: Callable[[dict[str, Callable[[], Any]]], dict[str, Any]], cuda: bool,
            stride: int | None = None) -> list[dict[str, Any]]:
    """The mediation rows, as keyword arguments of devtools.bench.Row, for the float32 model `lm`.

    `timed(contenders)` runs the contenders in interleaved rounds and returns their timings (with `median_ms`)."""
    p = prepare(lm, TEXT, SWAP, TARGETS)
    encoded = encode(lm, TEXT)
    layers, heads = lm.info.layers, lm.info.heads
    runs = variants(layers, heads)
    stride = stride or (1 if cuda else CPU_STRIDE)
    sample = list(range(0, len(runs), stride))

    def one() -> Any:
        with torch.inference_mode():
            last = forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, batched=False).last_hidden
            return forward.mlm_log_probs(lm, last[:, p.mask_position])

    result: dict[str, Any] = {}

    def ours() -> Any:
        result["ours"] = mediate(lm, TEXT, SWAP, TARGETS, prepared=p)
        return result["ours"]

    naive_effects: dict[int, float] = {}

    def naive() -> Any:
        with torch.inference_mode():
            x = torch.tensor([p.input_ids], device=lm.device)
            base = forward.encoder(lm, x)
            source = forward.encoder(lm, torch.tensor([p.counterfactual_ids], device=lm.device),
                                     interventions=Interventions(record=True)).activations
            gap = float(target_logit_gap(lm, base.last_hidden[:, p.mask_position], p.target_ids)[0])
            for i in sample:
                run = runs[i]
                out = forward.encoder(lm, x, interventions=Interventions(
                    run.ablate, run.patch_heads, run.patch_attention, run.patch_mlp, source=source))
                patched = float(target_logit_gap(lm, out.last_hidden[:, p.mask_position], p.target_ids)[0])
                naive_effects[i] = math.expm1(patched - gap)

    times = timed({"forward": one, "ours": ours, "naive": naive})
    one_ms, ours_ms, naive_ms = (times[name].median_ms for name in ("forward", "ours", "naive"))
    naive_full_ms = naive_ms * (len(runs) + 2) / (len(sample) + 2)
    m = result["ours"]
    flat = [v for row in m.heads for v in row] + list(m.attention_layers) + list(m.mlp_layers)
    gap = max(abs(flat[i] - naive_effects[i]) for i in sample)
    ratio = ours_ms / one_ms
    if cuda:
        target, met = f"<= {GPU_LIMIT_MS:g} ms (GPU)", ours_ms <= GPU_LIMIT_MS
    else:
        target, met = f"<= {CPU_LIMIT:g}x one forward pass (CPU)", ratio <= CPU_LIMIT
    tokens = len(p.input_ids)
    n = layers * heads
    scaled = "" if len(sample) == len(runs) else \
        f", timed on every {stride}th ({len(sample)}) and scaled to {len(runs)}"
    top = ", ".join(f"{h.layer}.{h.head} {h.nie:+.3f}" for h in m.ranked(TOP))
    return [
        dict(what=f"one forward pass (encoder + MLM head at the mask), float32, {tokens} tokens",
             median_ms=one_ms, value=_ms(one_ms)),
        dict(what=f"all {n} head NIEs + {2 * layers} layer effects and TE (2 recorded passes + {len(runs)} patched "
                  "rows in batches, each from its patched layer on, the last layer at the mask only)",
             median_ms=ours_ms, value=_ms(ours_ms), ratio=ratio, target=target, met=met),
        dict(what=f"naive loop: {naive_passes(layers, heads)} full patched passes + 2, one at a time{scaled}",
             median_ms=naive_full_ms, value=f"{_ms(naive_full_ms)} ({naive_passes(layers, heads) + 2} passes; "
                                            f"ours is {naive_full_ms / ours_ms:.1f}x faster)",
             ratio=naive_full_ms / one_ms),
        dict(what=f"largest |NIE ours - NIE naive| over the {len(sample)} variants the naive loop ran",
             value=f"{gap:.2e}"),
        dict(what=f"top {TOP} heads (layer.head NIE) of this RANDOM model for '{SWAP}', targets {TARGETS}: "
                  "meaningless; the real model's heads are not known here", value=top),
    ]


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"
