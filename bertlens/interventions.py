"""Interventions on one forward pass: switching attention heads off, or patching activations from another run.

They are arguments of `bertlens.forward.encoder`, never hooks on the shared model, so a thread that intervenes and
one that does not never see each other's state. `run_encoder` computes BERT's layers here, functionally, from the
shared model's own submodules (each Linear and LayerNorm is called, so bfloat16, float16 and int8 dynamic-quantised
weights work as they do in the model), with the same operations as transformers' eager `BertLayer`.

What can be changed, per layer (layers and heads count from 0 here; every interface counts from 1):

- `ablate`: a head's slice of the attention context (the input of `attention.output.dense`) is set to zero;
- `patch_heads`: a head's slice of the context is taken from another run (`source`), at every position;
- `patch_attention`: the layer's whole context is taken from `source`;
- `patch_mlp`: the layer's intermediate activation (the input of `output.dense`) is taken from `source`.
- `project`: the layer's output, every token, goes through an affine map (`Projection`: a fitted debiasing
  transform, `bertlens.debias`).

Causal mediation needs hundreds of runs of one input that differ from it in one layer each, so three more fields
make those cheap:

- `record`: keep every layer's activations (an `Activations`, returned on the output), to serve as a `source` or
  a `base` later;
- `base`: this input's own unedited run. A row is computed only from its first edited layer on; everything below
  is read from `base`;
- `variants`: one output row per variant of a single input, each with its own edits (on top of the shared ones),
  all computed in batches: at each layer the rows that diverge there join the batch of rows already diverged;
- `positions`: only these positions of the last layer are computed and returned (the last layer's keys and values
  still read every position), for callers that read the MLM head at the mask alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

from bertlens.errors import InputError
from bertlens.encoder_output import EncoderOutput
from bertlens.model import LoadedModel

ROW_MEMORY_BUDGET = 1.0 * 2**30
_HEAD = re.compile(r"(\d{1,4})\.(\d{1,4})")
Head = tuple[int, int]


@dataclass(frozen=True, eq=False)
class Activations:
    """One run's activations at every layer, each of shape (batch, tokens, ...), for batch 1 or the run's batch.

    - `inputs[l]`: the hidden states entering layer l (`inputs[0]` are the embeddings);
    - `contexts[l]`: the attention context, the input of `attention.output.dense`;
    - `attended[l]`: the attention block's output, the input of the MLP;
    - `intermediates[l]`: the MLP's activation, the input of `output.dense`;
    - `last`: the last layer's output;
    - `mask`: the additive attention mask the run used (None when nothing was padded).

    Compared by identity: two recordings are the same only when they are the same object."""

    inputs: tuple[torch.Tensor, ...]
    contexts: tuple[torch.Tensor, ...]
    attended: tuple[torch.Tensor, ...]
    intermediates: tuple[torch.Tensor, ...]
    last: torch.Tensor
    mask: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.last.shape[0]

    @property
    def tokens(self) -> int:
        return self.last.shape[1]


@dataclass(frozen=True, eq=False)
class Projection:
    """An affine map of every token's hidden state leaving one layer (0-based): h -> h @ matrix.T + offset, computed
    in float32 and cast back. A fitted debiasing transform (LEACE, INLP, SentenceDebias; `bertlens.debias`) is one
    per layer. Compared by identity, as `Activations`."""

    layer: int
    matrix: torch.Tensor
    offset: torch.Tensor | None = None

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        matrix = self.matrix.to(hidden.device, torch.float32)
        out = hidden.float() @ matrix.T
        if self.offset is not None:
            out = out + self.offset.to(hidden.device, torch.float32)
        return out.to(hidden.dtype)


@dataclass(frozen=True)
class Interventions:
    """What to change in one encoder call (see the module docstring). Layers and heads count from 0.

    Every variant is an `Interventions` with edits only (no source, base, variants, positions or record of its
    own); its edits add to the shared ones."""

    ablate: frozenset[Head] = frozenset()
    patch_heads: frozenset[Head] = frozenset()
    patch_attention: frozenset[int] = frozenset()
    patch_mlp: frozenset[int] = frozenset()
    source: Activations | None = None
    base: Activations | None = None
    variants: tuple["Interventions", ...] = ()
    positions: tuple[int, ...] | None = None
    record: bool = False
    project: tuple[Projection, ...] = ()

    def __post_init__(self) -> None:
        for name in ("ablate", "patch_heads", "patch_attention", "patch_mlp"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))
        if self.positions is not None:
            object.__setattr__(self, "positions", tuple(int(p) for p in self.positions))
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "project", tuple(self.project))

    @property
    def empty(self) -> bool:
        return not (self.edits or self.variants or self.base is not None or self.positions is not None
                    or self.record or self.project)

    @property
    def edits(self) -> bool:
        return bool(self.ablate or self.patch_heads or self.patch_attention or self.patch_mlp)

    @property
    def patches(self) -> bool:
        return bool(self.patch_heads or self.patch_attention or self.patch_mlp)

    def layers(self) -> set[int]:
        """The layers this intervention edits (its own edits only)."""
        return ({l for l, _ in self.ablate} | {l for l, _ in self.patch_heads} | set(self.patch_attention)
                | set(self.patch_mlp))

    def merged(self, other: "Interventions") -> "Interventions":
        """The edits of both (other's non-edit fields are ignored)."""
        return Interventions(self.ablate | other.ablate, self.patch_heads | other.patch_heads,
                             self.patch_attention | other.patch_attention, self.patch_mlp | other.patch_mlp)

    def check(self, layers: int, heads: int, tokens: int) -> None:
        """Raise ValueError for a layer, head or position out of range, or fields that do not fit together."""
        for variant in (self, *self.variants):
            for l, h in variant.ablate | variant.patch_heads:
                if not (0 <= l < layers and 0 <= h < heads):
                    raise ValueError(f"Head ({l}, {h}) is out of range: the model has {layers} layers of {heads} "
                                     "heads (counted from 0 here).")
            for l in variant.patch_attention | variant.patch_mlp:
                if not 0 <= l < layers:
                    raise ValueError(f"Layer {l} is out of range: the model has {layers} layers (from 0 here).")
        for variant in self.variants:
            if variant.variants or variant.source is not None or variant.base is not None or variant.record \
                    or variant.positions is not None:
                raise ValueError("A variant carries edits only; give source, base and positions on the call.")
        needs_source = self.patches or any(v.patches for v in self.variants)
        if needs_source and self.source is None:
            raise ValueError("Patching needs a `source`: the recorded activations of the run to patch from.")
        if self.positions is not None:
            if not self.positions or any(not 0 <= p < tokens for p in self.positions):
                raise ValueError(f"Positions {self.positions} are not positions of a {tokens}-token input.")
        for name, recorded in (("source", self.source), ("base", self.base)):
            if recorded is not None and (recorded.tokens != tokens or len(recorded.inputs) != layers):
                raise ValueError(f"The {name} activations are of {recorded.tokens} tokens and "
                                 f"{len(recorded.inputs)} layers; this input has {tokens} tokens and the model "
                                 f"{layers} layers.")
        if self.record and (self.variants or self.positions is not None):
            raise ValueError("Recording needs a whole, single run: no variants and no positions.")
        for projection in self.project:
            if not 0 <= projection.layer < layers:
                raise ValueError(f"A projection at layer {projection.layer} is out of range: the model has {layers} "
                                 "layers (from 0 here).")
        if self.project and (self.variants or self.base is not None):
            raise ValueError("Projections apply to a whole run: no variants and no base.")


@dataclass(frozen=True)
class InterventionOutput(EncoderOutput):
    """`EncoderOutput`, plus the recorded activations when `Interventions.record` was set.

    With `positions`, `last_hidden` holds only those positions, in their order: (rows, len(positions), hidden).
    With `variants`, its rows are the variants', in their order."""

    activations: Activations | None = None


def run_encoder(lm: LoadedModel, input_ids: torch.Tensor | None, token_type_ids: torch.Tensor,
                attention_mask: torch.Tensor | None, interventions: Interventions, *,
                inputs_embeds: torch.Tensor | None = None, hidden_states: bool = False, attentions: bool = False,
                pooled: bool = False, memory_budget: float = ROW_MEMORY_BUDGET) -> InterventionOutput:
    """The encoder with `interventions`, computed layer by layer from the model's own submodules.

    Works under `torch.inference_mode()` and with gradients (for `inputs_embeds` that require them). Raises
    ValueError for interventions that do not fit the model or the input, or outputs that cannot be given with them
    (attentions with a reused `base`, hidden states of an edited run from a `base` or of variants).
    """
    iv = interventions
    config = lm.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    reference = inputs_embeds if inputs_embeds is not None else input_ids
    recorded = iv.base
    tokens = recorded.tokens if reference is None and recorded is not None else reference.shape[1]
    iv.check(layers, heads, tokens)
    if iv.variants:
        if hidden_states or attentions:
            raise ValueError("Hidden states and attentions are not returned for variants.")
        base = iv.base
        if base is None:
            base = run_encoder(lm, input_ids, token_type_ids, attention_mask, Interventions(record=True),
                               inputs_embeds=inputs_embeds).activations
        if base.batch != 1:
            raise ValueError("Variants are of one input: its base run must have batch 1.")
        rows = [iv.merged(v) for v in iv.variants]
        last = _run_rows(lm, base, rows, iv.source, iv.positions, memory_budget)
        return InterventionOutput(last, _pooled(lm, last, iv.positions) if pooled else None)
    if iv.base is not None:
        if attentions:
            raise ValueError("Attentions are not recorded in `base`; run without it to get them.")
        return _run_from_base(lm, iv, hidden_states, pooled, memory_budget)
    embeddings = lm.model.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids,
                                          inputs_embeds=inputs_embeds)
    mask = additive_mask(attention_mask, embeddings.dtype)
    return _run_whole(lm, iv, embeddings, mask, hidden_states, attentions, pooled)


def additive_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """The (batch, 1, 1, keys) mask eager attention adds to its scores: 0 where attended, the dtype's minimum at
    padding; None when nothing is padded."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    keep = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - keep) * torch.finfo(dtype).min


# ---- one layer, in pieces -----------------------------------------------------------------------------------------

def _attend(layer: Any, hidden: torch.Tensor, mask: torch.Tensor | None, query_positions: Sequence[int] | None,
            want_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The attention context (rows, queries, hidden) of `hidden` (rows, tokens, hidden), as eager attention
    computes it; queries only at `query_positions` when given."""
    attention = layer.attention.self
    rows, tokens, _ = hidden.shape
    size = attention.attention_head_size
    queries = hidden if query_positions is None else hidden[:, list(query_positions)]
    query = attention.query(queries).view(rows, queries.shape[1], -1, size).transpose(1, 2)
    key = attention.key(hidden).view(rows, tokens, -1, size).transpose(1, 2)
    value = attention.value(hidden).view(rows, tokens, -1, size).transpose(1, 2)
    scores = torch.matmul(query, key.transpose(2, 3)) * attention.scaling
    if mask is not None:
        scores = scores + mask
    weights = torch.nn.functional.softmax(scores, dim=-1)
    context = torch.matmul(weights, value).transpose(1, 2).reshape(rows, queries.shape[1], -1)
    return context, (weights if want_weights else None)


def _attention_output(layer: Any, context: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    out = layer.attention.output
    return out.LayerNorm(out.dense(context) + residual)


def _intermediate(layer: Any, attended: torch.Tensor) -> torch.Tensor:
    mlp = layer.intermediate
    return mlp.intermediate_act_fn(mlp.dense(attended))


def _output(layer: Any, intermediate: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
    out = layer.output
    return out.LayerNorm(out.dense(intermediate) + attended)


def _at(tensor: torch.Tensor, positions: Sequence[int] | None) -> torch.Tensor:
    return tensor if positions is None else tensor[:, list(positions)]


# ---- edits of a batch of rows at one layer ------------------------------------------------------------------------

@dataclass
class _LayerEdits:
    """The edits of one layer for a batch: (row, head) pairs to zero or take from the source, rows whose whole
    context or whose intermediate is taken from the source. Rows index the batch; `source_rows` maps a batch row
    to the source's row (0 when the source has batch 1)."""

    zero: list[tuple[int, int]] = field(default_factory=list)
    take: list[tuple[int, int]] = field(default_factory=list)
    context_rows: list[int] = field(default_factory=list)
    mlp_rows: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.zero or self.take or self.context_rows or self.mlp_rows)


def _edits_at(layer: int, rows: Sequence[Interventions]) -> _LayerEdits:
    edits = _LayerEdits()
    for r, row in enumerate(rows):
        edits.zero += [(r, h) for l, h in row.ablate if l == layer]
        edits.take += [(r, h) for l, h in row.patch_heads if l == layer and (l, h) not in row.ablate]
        if layer in row.patch_attention:
            edits.context_rows.append(r)
        if layer in row.patch_mlp:
            edits.mlp_rows.append(r)
    return edits


def _source_rows(source: Activations | None, rows: Sequence[int], batch_rows: Sequence[int]) -> list[int]:
    if source is None or source.batch == 1:
        return [0] * len(rows)
    return [batch_rows[r] for r in rows]


def _edit_context(context: torch.Tensor, edits: _LayerEdits, source: Activations | None, layer: int, heads: int,
                  positions: Sequence[int] | None, batch_rows: Sequence[int]) -> torch.Tensor:
    """`context` (rows, queries, hidden) with the layer's context edits applied (a new tensor when edited).

    Patched whole contexts come first, then patched heads, then zeroed heads: a head switched off stays off."""
    if not (edits.zero or edits.take or edits.context_rows):
        return context
    context = context.clone()
    rows, queries, hidden = context.shape
    split = context.view(rows, queries, heads, hidden // heads)
    if edits.context_rows:
        theirs = _at(source.contexts[layer], positions)
        index = torch.tensor(edits.context_rows, device=context.device)
        context[index] = theirs[_source_rows(source, edits.context_rows, batch_rows)].to(context.dtype)
    if edits.take:
        theirs = _at(source.contexts[layer], positions).view(-1, queries, heads, hidden // heads)
        r = torch.tensor([row for row, _ in edits.take], device=context.device)
        h = torch.tensor([head for _, head in edits.take], device=context.device)
        s = torch.tensor(_source_rows(source, [row for row, _ in edits.take], batch_rows), device=context.device)
        split[r, :, h] = theirs[s, :, h].to(context.dtype)
    if edits.zero:
        r = torch.tensor([row for row, _ in edits.zero], device=context.device)
        h = torch.tensor([head for _, head in edits.zero], device=context.device)
        split[r, :, h] = 0
    return context


def _edit_intermediate(intermediate: torch.Tensor, edits: _LayerEdits, source: Activations | None, layer: int,
                       positions: Sequence[int] | None, batch_rows: Sequence[int]) -> torch.Tensor:
    if not edits.mlp_rows:
        return intermediate
    intermediate = intermediate.clone()
    theirs = _at(source.intermediates[layer], positions)
    index = torch.tensor(edits.mlp_rows, device=intermediate.device)
    intermediate[index] = theirs[_source_rows(source, edits.mlp_rows, batch_rows)].to(intermediate.dtype)
    return intermediate


# ---- a whole run with one set of edits ---------------------------------------------------------------------------

def _run_whole(lm: LoadedModel, iv: Interventions, embeddings: torch.Tensor, mask: torch.Tensor | None,
               hidden_states: bool, attentions: bool, pooled: bool) -> InterventionOutput:
    """Every layer from the embeddings, with the same edits in every row of the batch."""
    modules = lm.model.bert.encoder.layer
    count = len(modules)
    heads = lm.config.num_attention_heads
    batch = embeddings.shape[0]
    rows = [iv] * batch
    batch_rows = list(range(batch))
    hidden = embeddings
    kept: dict[str, list[torch.Tensor]] = {"inputs": [], "contexts": [], "attended": [], "intermediates": []}
    states, weights = [embeddings], []
    for l, layer in enumerate(modules):
        positions = iv.positions if l == count - 1 else None
        edits = _edits_at(l, rows)
        context, attention = _attend(layer, hidden, mask, positions, attentions)
        context = _edit_context(context, edits, iv.source, l, heads, positions, batch_rows)
        attended = _attention_output(layer, context, _at(hidden, positions))
        intermediate = _edit_intermediate(_intermediate(layer, attended), edits, iv.source, l, positions,
                                          batch_rows)
        out = _output(layer, intermediate, attended)
        for projection in iv.project:
            if projection.layer == l:
                out = projection(out)
        if iv.record:
            for name, value in (("inputs", hidden), ("contexts", context), ("attended", attended),
                                ("intermediates", intermediate)):
                kept[name].append(value)
        if attentions:
            weights.append(attention)
        hidden = out
        states.append(out)
    activations = Activations(*(tuple(kept[n]) for n in ("inputs", "contexts", "attended", "intermediates")),
                              hidden, mask) if iv.record else None
    return InterventionOutput(hidden, _pooled(lm, hidden, iv.positions) if pooled else None,
                              tuple(states) if hidden_states else None, tuple(weights) if attentions else None,
                              activations)


def _run_from_base(lm: LoadedModel, iv: Interventions, hidden_states: bool, pooled: bool,
                   memory_budget: float) -> InterventionOutput:
    """The edits of `iv` in every row of the base run's batch, from the first edited layer on."""
    base = iv.base
    if not iv.edits:
        last = _at(base.last, iv.positions)
        states = (*base.inputs, base.last) if hidden_states else None
        return InterventionOutput(last, _pooled(lm, last, iv.positions) if pooled else None, states)
    if hidden_states:
        raise ValueError("Hidden states of an edited run are not kept when it starts from `base`; run without it.")
    rows = [iv] * base.batch
    last = _run_rows(lm, base, rows, iv.source, iv.positions, memory_budget, base_rows=list(range(base.batch)))
    return InterventionOutput(last, _pooled(lm, last, iv.positions) if pooled else None)


# ---- many rows, each from its first edited layer ------------------------------------------------------------------

def rows_within(lm: LoadedModel, tokens: int, budget: float = ROW_MEMORY_BUDGET) -> int:
    """How many rows of `tokens` tokens one layer of a batch may hold within about `budget` bytes (the live
    tensors of one layer: hidden states, queries, keys, values, context, the intermediate and the scores)."""
    config = lm.config
    per_row = 4 * (tokens * (8 * config.hidden_size + 2 * config.intermediate_size)
                       + 2 * config.num_attention_heads * tokens * tokens)
    return max(1, int(budget // max(per_row, 1)))


def _run_rows(lm: LoadedModel, base: Activations, rows: Sequence[Interventions], source: Activations | None,
              positions: Sequence[int] | None, memory_budget: float,
              base_rows: Sequence[int] | None = None) -> torch.Tensor:
    """The last hidden states (rows, positions or tokens, hidden) of `rows`, each a copy of the base run (row
    `base_rows[i]` of it, row 0 by default) with its edits, computed from its first edited layer on.

    Rows are sorted by that layer and cut into chunks that fit `memory_budget`; each chunk runs as a wavefront:
    at layer l the rows whose first edit is at l join, with the base's context (or its hidden states) as their
    start, and every row of the chunk computes the layer in one batch."""
    modules = lm.model.bert.encoder.layer
    count = len(modules)
    base_rows = list(base_rows) if base_rows is not None else [0] * len(rows)
    firsts = [min(row.layers()) if row.edits else count for row in rows]
    order = sorted(range(len(rows)), key=lambda i: firsts[i])
    width = len(positions) if positions is not None else base.tokens
    final = _at(base.last, positions)
    out = final.new_empty((len(rows), width, final.shape[-1]))
    untouched = [i for i in order if firsts[i] >= count]
    if untouched:
        out[torch.tensor(untouched, device=out.device)] = final[[base_rows[i] for i in untouched]]
    todo = [i for i in order if firsts[i] < count]
    step = rows_within(lm, base.tokens, memory_budget)
    for start in range(0, len(todo), step):
        chunk = todo[start: start + step]
        last = _wavefront(lm, base, [rows[i] for i in chunk], [firsts[i] for i in chunk],
                          [base_rows[i] for i in chunk], source, positions)
        out[torch.tensor(chunk, device=out.device)] = last
    return out


def _wavefront(lm: LoadedModel, base: Activations, rows: list[Interventions], firsts: list[int],
               base_rows: list[int], source: Activations | None, positions: Sequence[int] | None) -> torch.Tensor:
    """One chunk of `_run_rows`; `firsts` is sorted. Returns the rows' last hidden states in their order."""
    modules = lm.model.bert.encoder.layer
    count = len(modules)
    heads = lm.config.num_attention_heads
    hidden: torch.Tensor | None = None
    active = 0
    for_rows = base.mask is not None and base.mask.shape[0] > 1
    for l in range(firsts[0], count):
        layer = modules[l]
        query_positions = positions if l == count - 1 else None
        joining = sum(1 for f in firsts[active:] if f == l)
        contexts, residuals = [], []
        if active:
            mask = base.mask[base_rows[:active]] if for_rows else base.mask
            context, _ = _attend(layer, hidden, mask, query_positions)
            contexts.append(context)
            residuals.append(_at(hidden, query_positions))
        if joining:
            index = base_rows[active: active + joining]
            contexts.append(_at(base.contexts[l], query_positions)[index])
            residuals.append(_at(base.inputs[l], query_positions)[index])
        active += joining
        context = contexts[0] if len(contexts) == 1 else torch.cat(contexts)
        residual = residuals[0] if len(residuals) == 1 else torch.cat(residuals)
        edits = _edits_at(l, rows[:active])
        context = _edit_context(context, edits, source, l, heads, query_positions, base_rows[:active])
        attended = _attention_output(layer, context, residual)
        intermediate = _edit_intermediate(_intermediate(layer, attended), edits, source, l, query_positions,
                                          base_rows[:active])
        hidden = _output(layer, intermediate, attended)
    return hidden


def _pooled(lm: LoadedModel, last: torch.Tensor, positions: Sequence[int] | None) -> torch.Tensor | None:
    """The pooler on the [CLS] row (as `forward.pool_of`), or None without a pooler or without position 0."""
    pooler = lm.model.bert.pooler
    if pooler is None or (positions is not None and 0 not in positions):
        return None
    return pooler(last if positions is None else last[:, [list(positions).index(0)]])


def heads_of(items: Iterable[tuple[int, int]]) -> frozenset[Head]:
    """1-based (layer, head) pairs, as every interface writes them, as the 0-based pairs of `Interventions`."""
    return frozenset((layer - 1, head - 1) for layer, head in items)


def parse_heads(value: str | Iterable[str] | Iterable[tuple[int, int]], layers: int,
                heads: int) -> tuple[Head, ...]:
    """Heads written `L.H[,L.H...]` (1-based, as every interface writes them), checked against the model's
    `layers` x `heads`; sorted, without repeats. Raises InputError naming the bad item and the allowed range."""
    items = value.split(",") if isinstance(value, str) else list(value)
    found: set[Head] = set()
    for item in items:
        if isinstance(item, tuple):
            layer, head = item
            shown = f"{layer}.{head}"
        else:
            shown = str(item).strip()
            if not shown:
                continue
            match = _HEAD.fullmatch(shown)
            if not match:
                raise InputError(f"'{shown[:40]}' is not a head: write LAYER.HEAD, for example 9.4 (layers and "
                                 "heads count from 1).")
            layer, head = int(match.group(1)), int(match.group(2))
        if not 1 <= layer <= layers:
            raise InputError(f"Head {shown}: the layer must be from 1 to {layers}.")
        if not 1 <= head <= heads:
            raise InputError(f"Head {shown}: the head must be from 1 to {heads}.")
        found.add((int(layer), int(head)))
    if not found:
        raise InputError("Name at least one head as LAYER.HEAD, for example 9.4.")
    return tuple(sorted(found))


