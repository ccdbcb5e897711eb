"""Concurrent requests share a forward pass, and each still gets exactly its own unbatched result."""
from __future__ import annotations

import dataclasses
import threading

import pytest
import torch

from bertlens.batching import EncoderBatcher
from bertlens.errors import InputError
from bertlens.fill_mask import fill_mask
from bertlens.nsp import rank_next_sentences
from bertlens.settings import Settings

SENTENCES = [
    "The [MASK] sat on the mat.",
    "Paris is the [MASK] of France.",
    "She went to the [MASK] to buy some milk and bread.",
    "He [MASK] to school.",
    "The doctor said that [MASK] would be late for the meeting this afternoon.",
    "A [MASK] barked.",
    "I flew from [MASK] to London last week.",
    "The [MASK] worked as a nurse.",
]


@pytest.fixture
def batched(lm):
    """The shared test model with a batcher of its own: a wide window, so threads started together share it."""
    return dataclasses.replace(lm, memo={}, batcher=EncoderBatcher(lm, window_s=0.2))


def concurrently(function, inputs: list) -> list:
    """Call `function` on every input from its own thread, all released at once; results in input order."""
    results: list = [None] * len(inputs)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(inputs))

    def work(index: int, value) -> None:
        barrier.wait()
        try:
            results[index] = function(value)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, v)) for i, v in enumerate(inputs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_concurrent_fill_masks_share_passes_and_equal_unbatched(lm, batched, passes):
    expected = [fill_mask(lm, text, top_k=10) for text in SENTENCES]
    passes.clear()
    got = concurrently(lambda text: fill_mask(batched, text, top_k=10), SENTENCES)
    assert len(passes) < len(SENTENCES), "threads released together must share at least one pass"
    assert sum(batched.batcher.batches) == len(SENTENCES) and max(batched.batcher.batches) > 1
    for mine, reference in zip(got, expected):
        assert mine.text == reference.text
        assert [c.token_id for c in mine.masks[0].candidates] == [c.token_id for c in reference.masks[0].candidates]
        for a, b in zip(mine.masks[0].candidates, reference.masks[0].candidates):
            assert a.log_probability == pytest.approx(b.log_probability, abs=1e-5)


def test_concurrent_nsp_equals_unbatched(lm, batched):
    pairs = [(a.replace("[MASK]", "cat"), b.replace("[MASK]", "dog")) for a, b in zip(SENTENCES, SENTENCES[1:])]
    expected = [rank_next_sentences(lm, a, [b, "Penguins swim."], sort=False) for a, b in pairs]
    got = concurrently(lambda pair: rank_next_sentences(batched, pair[0], [pair[1], "Penguins swim."], sort=False),
                       pairs)
    for mine, reference in zip(got, expected):
        assert [r.sentence_b for r in mine] == [r.sentence_b for r in reference]
        for a, b in zip(mine, reference):
            assert a.p_is_next == pytest.approx(b.p_is_next, abs=1e-5)
            assert a.logits == pytest.approx(b.logits, abs=1e-5)


def test_a_lone_request_runs_alone(lm, batched):
    result = fill_mask(batched, SENTENCES[0])
    assert batched.batcher.batches == [1]
    assert result.masks[0].candidates[0].token_id == fill_mask(lm, SENTENCES[0]).masks[0].candidates[0].token_id


def test_a_failing_batch_raises_in_every_caller(lm, monkeypatch):
    broken = dataclasses.replace(lm, memo={}, batcher=EncoderBatcher(lm, window_s=0.2))

    def fail(*args, **kwargs):
        raise RuntimeError("device lost")

    monkeypatch.setattr(broken.batcher, "_run_padded", fail)
    monkeypatch.setattr("bertlens.fast.hidden_states", fail)
    outcomes = concurrently(lambda text: _outcome(lambda: fill_mask(broken, text)), SENTENCES[:4])
    assert outcomes == ["device lost"] * 4


def _outcome(call) -> str:
    try:
        call()
    except RuntimeError as exc:
        return str(exc)
    return "ok"


@pytest.mark.parametrize("value", ["-1", "5000", "fast"])
def test_batch_window_setting_is_checked(monkeypatch, value):
    monkeypatch.setenv("BERT_LENS_BATCH_WINDOW_MS", value)
    with pytest.raises(InputError, match="(?i)batch"):
        Settings.from_env()


def test_batch_window_zero_switches_batching_off(monkeypatch):
    monkeypatch.setenv("BERT_LENS_BATCH_WINDOW_MS", "0")
    assert Settings.from_env().batch_window_ms == 0
