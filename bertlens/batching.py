"""Concurrent requests share a forward pass.

When thirty students press "Predict" in the same second, each session's thread asks for its own encoder pass, and
the passes queue on the same cores. An `EncoderBatcher` collects the single-sequence passes that arrive within a
short window (5 ms by default) and runs them as one padded batch, then hands each caller its own slice. A request
that arrives alone pays at most the window, and runs on the fast path (`bertlens.fast`, a CUDA graph on a GPU).

Padding is masked out, so each result equals its unbatched pass up to float rounding (within 1e-5 in float32).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import torch

from bertlens import forward

DEFAULT_WINDOW_S = 0.005
MAX_BATCH = 32


@dataclass
class _Request:
    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    done: threading.Event = field(default_factory=threading.Event)
    last_hidden: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    error: BaseException | None = None


class EncoderBatcher:
    """Runs single-sequence encoder passes from many threads as padded batches, on one worker thread.

    `window_s` is how long the worker waits for more requests after the first; `max_batch` caps a batch.
    """

    def __init__(self, lm, window_s: float = DEFAULT_WINDOW_S, max_batch: int = MAX_BATCH) -> None:
        self.lm = lm
        self.window_s = window_s
        self.max_batch = max_batch
        self.batches: list[int] = []
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._start = threading.Lock()
        self._worker: threading.Thread | None = None

    def encode(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(last hidden states (1, T, hidden), pooled [CLS] (1, hidden) or None) for one unpadded sequence."""
        return self.encode_many([(input_ids, token_type_ids)])[0]

    def encode_many(self, sequences: list[tuple[torch.Tensor, torch.Tensor]]
                    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """`encode` for several sequences of one caller; they may share batches with other callers' requests."""
        self._ensure_worker()
        requests = [_Request(ids, types) for ids, types in sequences]
        for request in requests:
            self._queue.put(request)
        for request in requests:
            request.done.wait()
            if request.error is not None:
                raise request.error
        return [(r.last_hidden, r.pooled) for r in requests]

    def _ensure_worker(self) -> None:
        with self._start:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name="bertlens-batcher", daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.window_s
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        try:
            with torch.inference_mode():
                if len(batch) == 1:
                    request = batch[0]
                    output = forward.encoder(self.lm, request.input_ids, request.token_type_ids, batched=False,
                                             pooled=True)
                    request.last_hidden, request.pooled = output.last_hidden, output.pooled
                else:
                    self._run_padded(batch)
            self.batches.append(len(batch))
        except BaseException as exc:  # every caller must wake up and see the failure, whatever it was
            for request in batch:
                request.error = exc
        finally:
            for request in batch:
                request.done.set()

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
        last = forward.encoder(lm, ids, types, mask).last_hidden
        for row, (request, length) in enumerate(zip(batch, lengths)):
            request.last_hidden = last[row: row + 1, :length]
            request.pooled = forward.pool_of(lm, request.last_hidden)
