"""Texts of an exact token length, and the attention-extraction timing the measurement script reports.

Benchmark code lives here, not in the shipped package: the core only runs the model.
"""
from __future__ import annotations

import time

import torch

from bertlens.attention import extract
from bertlens.encoding import encode
from bertlens.forward import encoder
from bertlens.model import LoadedModel


def time_extraction(lm: LoadedModel, n_tokens: int = 512, repeats: int = 3) -> dict[str, float | int]:
    """Seconds for `extract` on a text of exactly `n_tokens` tokens, after a warm-up.

    Reports the best and median wall time, the process CPU time of the best run (on a shared machine, CPU time /
    threads is closer to what an idle machine would take), and, interleaved with it, the same forward pass
    without attentions and transformers' own forward with `output_attentions=True` (nothing copied or converted)
    as baselines. For the benchmark command and scripts; unit tests never assert on it.
    """
    text = synthetic_text(lm, n_tokens)
    inputs = encode(lm, text).model_inputs()
    extract(lm, text)
    walls, cpus, plain, reference = [], [], [], []

    def timed(call) -> float:
        if lm.device.type == "cuda":
            torch.cuda.synchronize(lm.device)
        start = time.perf_counter()
        with torch.inference_mode():
            call()
        if lm.device.type == "cuda":
            torch.cuda.synchronize(lm.device)
        return time.perf_counter() - start

    for _ in range(repeats):
        cpu = time.process_time()
        walls.append(timed(lambda: extract(lm, text)))
        cpus.append(time.process_time() - cpu)
        plain.append(timed(lambda: encoder(lm, inputs["input_ids"], inputs["token_type_ids"], batched=False)))
        reference.append(timed(lambda: lm.model.bert(**inputs, output_attentions=True)))  # transformers' own forward
    best = min(range(repeats), key=walls.__getitem__)
    return {"tokens": n_tokens, "repeats": repeats, "threads": torch.get_num_threads(),
            "best_s": walls[best], "median_s": sorted(walls)[repeats // 2], "best_cpu_s": cpus[best],
            "forward_without_attentions_best_s": min(plain),
            "transformers_with_attentions_best_s": min(reference),
            "transformers_with_attentions_median_s": sorted(reference)[repeats // 2]}


def synthetic_text(lm: LoadedModel, n_tokens: int) -> str:
    """A plain English text that tokenises to exactly `n_tokens` tokens with [CLS] and [SEP] (n_tokens >= 3)."""
    base = ("The quick brown fox jumps over the lazy dog , and then it runs back home . "
            "She said that the weather was fine today . ").split()
    words = [base[i % len(base)] for i in range(n_tokens)]

    def length(count: int) -> int:
        return len(lm.tokenizer(" ".join(words[:count]), verbose=False)["input_ids"])

    low, high = 0, n_tokens
    while low < high:
        middle = (low + high + 1) // 2
        if length(middle) <= n_tokens:
            low = middle
        else:
            high = middle - 1
    text = " ".join(words[:low])
    missing = n_tokens - length(low)
    return (text + " ." * missing).strip()
