"""The benchmark's `explain` section: the Explain views against one forward pass, in the same interleaved rounds.

One forward pass is what fill-mask costs: the encoder on the 16-token sentence and the MLM head at the mask. The
logit lens is timed from scratch (the analysis pass with hidden states, then the head on all 25 states); occlusion
from the analysis record's f(input) (one batch of one row per context token); integrated gradients with 20 steps
(21 rows, forward and backward, in one batch), gradient x input included.
"""
from __future__ import annotations

from typing import Any

from bertlens.analysis import analyse
from bertlens.encoding import encode
from bertlens.explain import analysis_f, integrated_gradients, logit_lens, occlusion, resolve_target
from bertlens.fill_mask import forward

# [CLS] The doctor told the nurse that [MASK] would be late for the meeting . [SEP]: 16 tokens.
EXPLAIN_TEXT = "The doctor told the nurse that [MASK] would be late for the meeting."
TARGET, CONTRAST = "he", "she"
IG_STEPS = 20
GPU_IG_LIMIT_MS = 60.0
TARGETS = {"lens": 1.2, "occlusion": 3.0, "ig": 15.0}


def measure(bench: Any) -> None:
    """Add the explain rows to `bench.report` (a devtools.bench.Bench)."""
    from devtools.bench import Row, _ms, compare

    lm = bench.model("float32")
    tokens = len(lm.tokenizer(EXPLAIN_TEXT)["input_ids"])
    target = resolve_target(lm, EXPLAIN_TEXT, TARGET, CONTRAST)
    encoded = encode(lm, EXPLAIN_TEXT)
    record = analyse(lm, EXPLAIN_TEXT, hidden_states=True)
    f_input = analysis_f(record, target)
    contenders = {
        "forward": lambda: forward(lm, encoded, EXPLAIN_TEXT),
        "lens": lambda: logit_lens(lm, analyse(lm, EXPLAIN_TEXT, hidden_states=True), target),
        "lens_only": lambda: logit_lens(lm, record, target),
        "occlusion": lambda: occlusion(lm, target, f_input=f_input),
        "ig": lambda: integrated_gradients(lm, target, IG_STEPS),
    }
    times = compare(contenders, bench.repeats, bench.device)
    one = times["forward"].median_ms
    section = "explain"
    bench.report.add(Row(section, f"one forward pass (encoder + MLM head at the mask), float32, {tokens} tokens",
                         one, _ms(times["forward"])))
    layers = lm.info.layers + 1
    rows = [
        ("lens", f"logit lens from scratch: analysis pass with hidden states + the whole head on {layers} states"),
        ("occlusion", f"occlusion: {tokens - 3} rows (one per context token) in one batch"),
        ("ig", f"integrated gradients, {IG_STEPS} steps ({IG_STEPS + 1} rows, forward + backward, one batch; "
               "gradient x input included)"),
    ]
    for name, what in rows:
        ms = times[name].median_ms
        ratio = ms / one
        limit = TARGETS[name]
        cpu_only = name == "ig" and not bench.cuda
        target = f"<= {limit:g}x one forward pass" + (" (CPU)" if cpu_only else "")
        met = ratio <= limit if (name != "ig" or cpu_only) else None
        if name == "ig" and bench.cuda:
            target, met = f"<= {GPU_IG_LIMIT_MS:g} ms (GPU)", ms <= GPU_IG_LIMIT_MS
        bench.report.add(Row(section, what, ms, _ms(times[name]), ratio, target, met))
    bench.report.add(Row(section, f"logit lens given the analysis record (the head on {layers} states only)",
                         times["lens_only"].median_ms, _ms(times["lens_only"]),
                         times["lens_only"].median_ms / one))
