"""The CUDA-graph fast path for the encoder pass; `bertlens.forward.encoder` runs the eager model when it gives way.

On a CUDA GPU a single short sequence is launch-bound (a bert-large pass is ~400 small kernels), so the encoder is
captured once per sequence length as a CUDA graph and replayed: one launch instead of hundreds. It gives way to
eager mode when it cannot run (no GPU, a padded batch, a long text, a failed capture). What it captures is
`bertlens.forward.unmasked_states`, passed in as `states`: this module knows graphs, not the model's parts.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from typing import Any, Callable

import torch

from bertlens.model import LoadedModel

log = logging.getLogger(__name__)

GRAPH_MAX_TOKENS = 128
GRAPH_CACHE_SIZE = 64

States = Callable[[LoadedModel, torch.Tensor, torch.Tensor], torch.Tensor]
"""(lm, input_ids, token_type_ids) -> last hidden states of one unpadded sequence, with no data-dependent branch."""


@dataclasses.dataclass
class _Captured:
    graph: Any
    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    output: torch.Tensor


class GraphRunner:
    """CUDA graphs of `states`, one per sequence length up to GRAPH_MAX_TOKENS, captured on first use and kept in an
    LRU. The graphs share one memory pool: that is safe because replays are serialised by a lock and each result
    is copied out of its graph's buffer at once, so no graph's output is read after another replays."""

    def __init__(self, lm: LoadedModel, states: States, max_graphs: int = GRAPH_CACHE_SIZE) -> None:
        self.lm = lm
        self.states = states
        self.max_graphs = max_graphs
        self.graphs: OrderedDict[int, _Captured] = OrderedDict()
        self.lock = threading.Lock()
        self.failed: str | None = None
        self.pool: Any = None

    def __call__(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor | None:
        """Hidden states, or None when the graph path is unavailable (the caller then runs eager mode)."""
        if self.failed is not None:
            return None
        length = input_ids.shape[-1]
        with self.lock, torch.inference_mode():
            try:
                captured = self.graphs.get(length)
                if captured is None:
                    captured = self._capture(length)
                else:
                    self.graphs.move_to_end(length)
                captured.input_ids.copy_(input_ids)
                captured.token_type_ids.copy_(token_type_ids)
                captured.graph.replay()
                return captured.output.clone()
            except Exception as exc:  # a capture can fail on a driver, allocator or model quirk: stay correct
                self.failed = f"{type(exc).__name__}: {exc}"
                self.graphs.clear()
                log.warning("CUDA graph path disabled, using eager mode: %s", self.failed)
                return None

    def _capture(self, length: int) -> _Captured:
        device = self.lm.device
        ids = torch.full((1, length), self.lm.tokenizer.cls_token_id, dtype=torch.long, device=device)
        types = torch.zeros_like(ids)
        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        stream = torch.cuda.Stream(device=device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):
            for _ in range(2):
                self.states(self.lm, ids, types)
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: other sessions' threads may allocate while this thread captures.
        with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            output = self.states(self.lm, ids, types)
        captured = _Captured(graph, ids, types, output)
        self.graphs[length] = captured
        while len(self.graphs) > self.max_graphs:
            self.graphs.popitem(last=False)
        return captured


def graphs_enabled(lm: LoadedModel) -> bool:
    return lm.device.type == "cuda" and not lm.memo.get("graphs_off", False)


def set_graphs(lm: LoadedModel, enabled: bool) -> None:
    """Switch the CUDA-graph path on or off for `lm` (the benchmark compares both)."""
    lm.memo["graphs_off"] = not enabled


def graph_runner(lm: LoadedModel, states: States) -> GraphRunner:
    """`lm`'s runner (one per model, kept in its memo), capturing `states` when it is first made."""
    if "graph_runner" not in lm.memo:
        lm.memo["graph_runner"] = GraphRunner(lm, states)
    return lm.memo["graph_runner"]


def graph_failure(lm: LoadedModel) -> str | None:
    """Why `lm`'s graph path gave way to eager mode, or None (also when it never ran)."""
    runner = lm.memo.get("graph_runner")
    return runner.failed if runner is not None else None


def hidden_states(lm: LoadedModel, inputs: dict[str, torch.Tensor], states: States) -> torch.Tensor | None:
    """Last hidden states for model inputs (input_ids, attention_mask, token_type_ids), shape (1, len, hidden), from
    a CUDA graph of `states`; None when the graph path cannot run (no GPU, a batch, a padded or long sequence, a
    failed capture), and the caller runs the eager model. Call under torch.inference_mode().
    """
    ids = inputs["input_ids"]
    if graphs_enabled(lm) and ids.shape[0] == 1 and ids.shape[-1] <= GRAPH_MAX_TOKENS:
        mask = inputs.get("attention_mask")
        if mask is None or bool(mask.all()):
            types = inputs.get("token_type_ids")
            return graph_runner(lm, states)(ids, torch.zeros_like(ids) if types is None else types)
    return None
