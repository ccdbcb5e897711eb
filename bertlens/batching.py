"""Concurrent requests share a forward pass.

When thirty students press "Predict" in the same second, each session's thread asks for its own encoder pass, and
the passes queue on the same cores. An `EncoderBatcher` collects the single-sequence passes that arrive within a
short window (5 ms by default) and runs them as one padded batch, then hands each caller its own slice. A request
that arrives alone pays at most the window, and runs on the fast path (`bertlens.fast`, a CUDA graph on a GPU).

Padding is masked out, so each result equals its unbatched pass up to float rounding (within 1e-5 in float32).

One visitor cannot hurt another's request: each request is checked before it joins a batch, a failed batch is run
again one request at a time, every wait has a timeout, and a worker that dies wakes its callers with an error.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import torch

from bertlens import forward
from bertlens.errors import BertLensError, InputError

DEFAULT_WINDOW_S = 0.005
DEFAULT_TIMEOUT_S = 300.0
MAX_BATCH = 32
_POLL_S = 0.5


class EncoderUnavailable(BertLensError):
    """The shared encoder did not answer: its worker stopped, or the wait ran past its timeout."""


@dataclass
class _Request:
    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    done: threading.Event = field(default_factory=threading.Event)
    last_hidden: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    error: BaseException | None = None
    taken: bool = False
    abandoned: bool = False


def check_request(lm, input_ids, token_type_ids) -> None:
    """Raise InputError unless (input_ids, token_type_ids) is one unpadded sequence this model can read: integer
    tensors of shape (1, T), 1 <= T <= the model's positions, ids inside the vocabulary, segment ids inside the
    model's segment vocabulary. Called in the caller's thread, so a bad request never joins a batch."""
    if not isinstance(input_ids, torch.Tensor) or not isinstance(token_type_ids, torch.Tensor):
        raise InputError("An encoder request must be two tensors: token ids and segment ids.")
    if input_ids.dim() != 2 or input_ids.shape[0] != 1 or input_ids.shape[1] < 1:
        raise InputError(f"An encoder request is one sequence of shape (1, tokens); got {tuple(input_ids.shape)}.")
    if token_type_ids.shape != input_ids.shape:
        raise InputError(f"The segment ids {tuple(token_type_ids.shape)} do not match the token ids "
                         f"{tuple(input_ids.shape)}.")
    if input_ids.dtype.is_floating_point or token_type_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
        raise InputError("Token ids and segment ids must be whole numbers.")
    length = input_ids.shape[1]
    positions = lm.info.max_positions
    if length > positions:
        raise InputError(f"The sequence is {length:,} tokens long; the model reads at most {positions}.")
    config = lm.model.config
    vocab = getattr(config, "vocab_size", None) or lm.info.vocab_size
    if int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab:
        raise InputError(f"A token id is outside the vocabulary (0 to {vocab - 1}).")
    types = getattr(config, "type_vocab_size", 2)
    if int(token_type_ids.min()) < 0 or int(token_type_ids.max()) >= types:
        raise InputError(f"A segment id is outside 0 to {types - 1}.")


class EncoderBatcher:
    """Runs single-sequence encoder passes from many threads as padded batches, on one worker thread.

    `window_s` is how long the worker waits for more requests after the first; `max_batch` caps a batch;
    `timeout_s` caps each caller's wait. Each request is checked before it joins a batch (`check_request`); when a
    batch fails, its members run again one by one, so only a faulty request gets the error. A caller whose
    request was taken by a worker that then died gets EncoderUnavailable, never a hang.
    """

    def __init__(self, lm, window_s: float = DEFAULT_WINDOW_S, max_batch: int = MAX_BATCH,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.lm = lm
        self.window_s = window_s
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self.batches: list[int] = []
        self.reruns = 0
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._start = threading.Lock()
        self._worker: threading.Thread | None = None

    def encode(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(last hidden states (1, T, hidden), pooled [CLS] (1, hidden) or None) for one unpadded sequence."""
        return self.encode_many([(input_ids, token_type_ids)])[0]

    def encode_many(self, sequences: list[tuple[torch.Tensor, torch.Tensor]]
                    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """`encode` for several sequences of one caller; they may share batches with other callers' requests.
        Raises InputError for a malformed sequence (before any joins a batch), EncoderUnavailable when the encoder
        does not answer within `timeout_s`, or the error of the caller's own pass."""
        for ids, types in sequences:
            check_request(self.lm, ids, types)
        requests = [_Request(ids, types) for ids, types in sequences]
        self._ensure_worker()
        for request in requests:
            self._queue.put(request)
        deadline = time.monotonic() + self.timeout_s
        try:
            for request in requests:
                self._wait(request, deadline)
                if request.error is not None:
                    raise request.error
        finally:
            for request in requests:
                request.abandoned = True
        return [(r.last_hidden, r.pooled) for r in requests]

    def _wait(self, request: _Request, deadline: float) -> None:
        while not request.done.wait(max(0.0, min(_POLL_S, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise EncoderUnavailable(f"The model did not answer within {self.timeout_s:g} s (the server is busy). "
                                         "Try again in a moment.")
            worker = self._worker
            if worker is None or not worker.is_alive():
                if request.taken and not request.done.is_set():
                    raise EncoderUnavailable("The model's worker stopped while running this request. Try again.")
                self._ensure_worker()

    def _ensure_worker(self) -> None:
        with self._start:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="bertlens-batcher", daemon=True)
                self._worker.start()

    def _take(self, block: bool, timeout: float | None = None) -> _Request | None:
        """The next request nobody gave up on (None when the queue stays empty)."""
        while True:
            try:
                request = self._queue.get(block=block, timeout=timeout) if block else self._queue.get_nowait()
            except queue.Empty:
                return None
            if not request.abandoned:
                request.taken = True
                return request

    def _serve(self) -> None:
        while True:
            first = self._take(block=True)
            if first is None:
                continue
            batch = [first]
            deadline = time.monotonic() + self.window_s
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                request = self._take(block=remaining > 0, timeout=remaining if remaining > 0 else None)
                if request is None:
                    break
                batch.append(request)
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        try:
            with torch.inference_mode():
                if len(batch) == 1:
                    self._run_one(batch[0])
                else:
                    try:
                        self._run_padded(batch)
                    except Exception:  # one member may be at fault: each runs alone and gets its own outcome
                        self.reruns += 1
                        for request in batch:
                            self._run_one(request)
            self.batches.append(len(batch))
        except BaseException as exc:  # every caller must wake up and see the failure, whatever it was
            for request in batch:
                if request.last_hidden is None and request.error is None:
                    request.error = exc
        finally:
            for request in batch:
                request.done.set()

    def _run_one(self, request: _Request) -> None:
        request.last_hidden, request.pooled, request.error = None, None, None
        try:
            request.last_hidden = self._forward({"input_ids": request.input_ids,
                                                 "token_type_ids": request.token_type_ids})
            request.pooled = forward.pool_of(self.lm, request.last_hidden)
        except Exception as exc:
            request.last_hidden, request.pooled, request.error = None, None, exc

    def _run_padded(self, batch: list[_Request]) -> None:
        lm = self.lm
        lengths = [r.input_ids.shape[-1] for r in batch]
        width = max(lengths)
        device = batch[0].input_ids.device
        ids = torch.full((len(batch), width), lm.tokenizer.pad_token_id, dtype=torch.long, device=device)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for row, (request, length) in enumerate(zip(batch, lengths)):
            ids[row, :length] = request.input_ids[0]
            types[row, :length] = request.token_type_ids[0]
            mask[row, :length] = 1
        last = self._forward({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        for row, (request, length) in enumerate(zip(batch, lengths)):
            request.last_hidden = last[row: row + 1, :length]
            request.pooled = forward.pool_of(lm, request.last_hidden)

    def _forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The one model call of the batcher: last hidden states of `inputs` (one sequence, or a padded batch with
        its attention mask), through the one forward function, kept out of the batcher itself."""
        return forward.encoder(self.lm, inputs["input_ids"], inputs["token_type_ids"], inputs.get("attention_mask"),
                               batched=False).last_hidden
