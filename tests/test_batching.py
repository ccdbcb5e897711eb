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


# ---------------------------------------------------------------- one visitor cannot hurt another

def _ids(lm, text: str) -> tuple[torch.Tensor, torch.Tensor]:
    batch = lm.tokenizer(text, return_tensors="pt", return_token_type_ids=True)
    return batch["input_ids"], batch["token_type_ids"]


def _unbatched(lm, ids, types) -> torch.Tensor:
    with torch.inference_mode():
        return lm.model.bert(input_ids=ids, token_type_ids=types).last_hidden_state


def _run_threads(calls: list, timeout: float = 60.0) -> list:
    """Each call in its own thread, released together; (kind, value) per call. Fails instead of hanging."""
    outcomes: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def work(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = ("ok", calls[index]())
        except BaseException as exc:
            outcomes[index] = ("error", exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a caller is still waiting: a wait without a timeout"
    return outcomes


def test_a_malformed_request_gets_its_own_error_and_the_others_their_results(lm):
    batcher = EncoderBatcher(lm, window_s=0.2)
    good = [_ids(lm, text.replace("[MASK]", "cat")) for text in SENTENCES[:6]]
    too_long = (torch.full((1, 600), 1000, dtype=torch.long), torch.zeros((1, 600), dtype=torch.long))
    outcomes = _run_threads([lambda pair=pair: batcher.encode(*pair) for pair in [*good, too_long]])
    kind, error = outcomes[-1]
    assert kind == "error" and isinstance(error, InputError) and "600 tokens" in str(error)
    for (ids, types), (kind, value) in zip(good, outcomes):
        assert kind == "ok", value
        torch.testing.assert_close(value[0], _unbatched(lm, ids, types), atol=1e-5, rtol=0)


@pytest.mark.parametrize("ids, types, says", [
    (torch.tensor([[101, 28996 + 5, 102]]), torch.zeros((1, 3), dtype=torch.long), "vocabulary"),
    (torch.tensor([[101, -4, 102]]), torch.zeros((1, 3), dtype=torch.long), "vocabulary"),
    (torch.tensor([[101, 102]]), torch.tensor([[0, 7]]), "segment"),
    (torch.tensor([[101, 102]]), torch.zeros((1, 3), dtype=torch.long), "do not match"),
    (torch.zeros((2, 3), dtype=torch.long), torch.zeros((2, 3), dtype=torch.long), "one sequence"),
    (torch.zeros((1, 0), dtype=torch.long), torch.zeros((1, 0), dtype=torch.long), "one sequence"),
    (torch.tensor([[0.5, 1.0]]), torch.zeros((1, 2)), "whole numbers"),
])
def test_each_request_is_checked_before_it_joins_a_batch(lm, ids, types, says):
    batcher = EncoderBatcher(lm, window_s=0.01)
    with pytest.raises(InputError, match=says):
        batcher.encode(ids, types)
    assert batcher.batches == [] and batcher._queue.empty()


def test_a_failed_batch_runs_its_members_alone(lm, monkeypatch):
    """A request that passes the checks but breaks the batched pass (here: a poisoned token) costs only itself."""
    batcher = EncoderBatcher(lm, window_s=0.3)
    poison = 1999
    real = batcher._forward

    def forward(inputs):
        if bool((inputs["input_ids"] == poison).any()):
            raise RuntimeError("poisoned pass")
        return real(inputs)

    monkeypatch.setattr(batcher, "_forward", forward)
    good = [_ids(lm, text.replace("[MASK]", "dog")) for text in SENTENCES[:6]]
    bad = (torch.tensor([[101, poison, 102]]), torch.zeros((1, 3), dtype=torch.long))
    outcomes = _run_threads([lambda pair=pair: batcher.encode(*pair) for pair in [*good, bad]])
    assert outcomes[-1][0] == "error" and str(outcomes[-1][1]) == "poisoned pass"
    for (ids, types), (kind, value) in zip(good, outcomes):
        assert kind == "ok", value
        torch.testing.assert_close(value[0], _unbatched(lm, ids, types), atol=1e-5, rtol=0)
    assert batcher.reruns >= 1 and max(batcher.batches) > 1


def test_every_wait_has_a_timeout(lm, monkeypatch):
    from bertlens.batching import EncoderUnavailable

    batcher = EncoderBatcher(lm, window_s=0.01, timeout_s=1.0)
    release = threading.Event()
    real = batcher._forward
    monkeypatch.setattr(batcher, "_forward", lambda inputs: (release.wait(30), real(inputs))[1])
    try:
        outcomes = _run_threads([lambda: batcher.encode(*_ids(lm, "A stuck pass."))] * 3, timeout=20)
        assert all(kind == "error" and isinstance(v, EncoderUnavailable) and "did not answer" in str(v)
                   for kind, v in outcomes), outcomes
    finally:
        release.set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_gives_its_callers_an_error_and_a_new_worker_serves_the_next(lm, monkeypatch):
    from bertlens.batching import EncoderUnavailable

    batcher = EncoderBatcher(lm, window_s=0.05, timeout_s=30)

    def die(batch):
        raise SystemExit  # ends the worker thread without waking anyone

    monkeypatch.setattr(batcher, "_run", die)
    outcomes = _run_threads([lambda: batcher.encode(*_ids(lm, "The worker dies."))] * 4, timeout=20)
    assert all(kind == "error" and isinstance(v, EncoderUnavailable) and "stopped" in str(v)
               for kind, v in outcomes), outcomes
    monkeypatch.undo()
    ids, types = _ids(lm, "Life goes on.")
    torch.testing.assert_close(batcher.encode(ids, types)[0], _unbatched(lm, ids, types), atol=1e-5, rtol=0)
