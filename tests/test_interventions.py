"""Interventions as arguments of one forward call (`bertlens.interventions` through `bertlens.forward.encoder`),
checked against transformers' own eager BertModel and BertForMaskedLM, switched and patched with forward hooks
written here."""
from __future__ import annotations

import threading

import pytest
import torch

from bertlens import Settings, forward, load_model
from bertlens.errors import InputError
from bertlens.fill_mask import Filters, fill_mask, switch_heads_off
from bertlens.interventions import Interventions, heads_of, parse_heads

TEXTS = ["The nurse said that [MASK] would be late.", "Paris is the [MASK] of France, they say."]


@pytest.fixture(scope="module")
def deep_dir(tmp_path_factory):
    """A tiny random model with 4 layers, so that runs start and join at several layers."""
    from devtools.random_model import build_random_model

    return build_random_model(tmp_path_factory.mktemp("deep") / "tiny-4", size="tiny", seed=3, num_hidden_layers=4)


@pytest.fixture(scope="module")
def deep(deep_dir):
    return load_model(Settings(model=str(deep_dir), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def reference(deep_dir):
    from transformers import BertForMaskedLM

    return BertForMaskedLM.from_pretrained(str(deep_dir), attn_implementation="eager").eval()


def batch(lm, texts=TEXTS):
    return lm.tokenizer(texts, padding=True, return_tensors="pt")


class Hooks:
    """Forward pre-hooks on `attention.output.dense` (the context) and `output.dense` (the intermediate) of a
    transformers model: record them, or replace parts of them, for one call."""

    def __init__(self, model) -> None:
        self.model = model
        self.handles = []

    def on(self, module, fn):
        self.handles.append(module.register_forward_pre_hook(lambda mod, args: fn(args[0])))

    def close(self):
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def layer(self, l):
        return self.model.bert.encoder.layer[l]


def run_reference(model, inputs, edit=None):
    """MLM logits of transformers' model; `edit(hooks)` installs the hooks for this one call."""
    hooks = Hooks(model)
    if edit:
        edit(hooks)
    try:
        with torch.no_grad():
            return model(**inputs).logits
    finally:
        hooks.close()


def record_reference(model, inputs):
    contexts, intermediates = {}, {}

    def edit(hooks):
        for l in range(model.config.num_hidden_layers):
            hooks.on(hooks.layer(l).attention.output.dense, lambda x, l=l: contexts.__setitem__(l, x.clone()))
            hooks.on(hooks.layer(l).output.dense, lambda x, l=l: intermediates.__setitem__(l, x.clone()))
    run_reference(model, inputs, edit)
    return contexts, intermediates


def ablate_hooks(heads, size):
    def edit(hooks):
        for l, h in heads:
            def zero(x, h=h):
                x = x.clone()
                x[..., h * size:(h + 1) * size] = 0
                return (x,)
            hooks.on(hooks.layer(l).attention.output.dense, zero)
    return edit


def ours(lm, inputs, interventions, **kwargs):
    with torch.inference_mode():
        out = forward.encoder(lm, inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"],
                              interventions=interventions, **kwargs)
        return out, forward.mlm_logits(lm, out.last_hidden)


# ---- the functional layers equal transformers' eager ones ---------------------------------------------------------

def test_recorded_run_equals_transformers_eager_model_on_a_padded_batch(deep):
    inputs = batch(deep)
    assert not bool(inputs["attention_mask"].all())
    out, _ = ours(deep, inputs, Interventions(record=True), hidden_states=True, attentions=True, pooled=True)
    with torch.no_grad():
        want = deep.model.bert(**inputs, output_hidden_states=True, output_attentions=True)
    real = inputs["attention_mask"].bool()
    assert torch.allclose(out.last_hidden[real], want.last_hidden_state[real], atol=1e-5)
    assert torch.allclose(out.pooled, want.pooler_output, atol=1e-5)
    for got, expected in zip(out.hidden_states, want.hidden_states, strict=True):
        assert torch.allclose(got[real], expected[real], atol=1e-5)
    for got, expected in zip(out.attentions, want.attentions, strict=True):
        assert torch.allclose(got, expected, atol=1e-6)
    acts = out.activations
    assert len(acts.inputs) == len(acts.contexts) == len(acts.intermediates) == deep.info.layers
    assert torch.equal(acts.last, out.last_hidden)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_runs_equal_the_models_own_pass(deep_dir, dtype):
    lm = load_model(Settings(model=str(deep_dir), device="cpu", dtype=dtype))
    inputs = batch(lm)
    out, _ = ours(lm, inputs, Interventions(record=True))
    with torch.no_grad():
        want = lm.model.bert(**inputs).last_hidden_state
    real = inputs["attention_mask"].bool()
    assert out.last_hidden.dtype == want.dtype
    assert torch.allclose(out.last_hidden[real].float(), want[real].float(), atol=5e-2)
    switched, _ = ours(lm, inputs, Interventions(ablate=frozenset({(1, 0)})))
    assert not torch.allclose(switched.last_hidden[real].float(), want[real].float(), atol=1e-3)


def test_int8_quantised_linear_layers_work(deep):
    from bertlens.model import quantize_int8

    small = quantize_int8(deep)
    inputs = batch(small)
    out, _ = ours(small, inputs, Interventions(record=True))
    with torch.no_grad():
        want = small.model.bert(**inputs).last_hidden_state
    real = inputs["attention_mask"].bool()
    assert torch.allclose(out.last_hidden[real], want[real], atol=1e-4)


# ---- switching heads off ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("heads", [{(0, 1)}, {(1, 3), (3, 0), (3, 2)}, {(2, h) for h in range(4)}])
def test_ablation_equals_zeroing_the_context_slice_with_hooks(deep, reference, heads):
    inputs = batch(deep)
    size = deep.config.hidden_size // deep.config.num_attention_heads
    want = run_reference(reference, inputs, ablate_hooks(heads, size))
    intact = run_reference(reference, inputs)
    _, got = ours(deep, inputs, Interventions(ablate=frozenset(heads)))
    real = inputs["attention_mask"].bool()
    assert torch.allclose(got[real], want[real], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(got[real], intact[real], atol=1e-3)


def test_switched_off_fill_mask_reads_the_same_probabilities_as_hooks(deep, reference):
    text = TEXTS[0]
    result = switch_heads_off(deep, text, "2.2,4.1", top_k=5, targets=["she", "he", "firefighter"])
    assert result.heads == ((2, 2), (4, 1))
    assert result.before == fill_mask(deep, text, top_k=5)
    inputs = deep.tokenizer(text, return_tensors="pt")
    size = deep.config.hidden_size // deep.config.num_attention_heads
    logits = run_reference(reference, inputs, ablate_hooks({(1, 1), (3, 0)}, size))[0]
    mask = inputs["input_ids"][0].tolist().index(deep.tokenizer.mask_token_id)
    probs = torch.softmax(logits[mask], dim=-1)
    top = torch.topk(probs, 5)
    after = result.after.masks[0].candidates
    assert [c.token_id for c in after] == top.indices.tolist()
    assert [c.probability for c in after] == pytest.approx(top.values.tolist(), rel=1e-4)
    she = deep.tokenizer.convert_tokens_to_ids("she")
    shift = result.targets[0]
    assert shift.word == "she" and shift.after_probability == pytest.approx(float(probs[she]), rel=1e-4)
    assert shift.after_rank == int((probs > probs[she]).sum()) + 1
    assert result.targets[2].after_probability is None  # several pieces: scored intact only


def test_heads_are_parsed_from_one_and_checked_against_the_model(deep):
    assert parse_heads("2.3, 1.1,2.3", 4, 4) == ((1, 1), (2, 3))
    assert heads_of([(1, 1), (2, 3)]) == frozenset({(0, 0), (1, 2)})
    for bad, words in (("5.1", "layer must be from 1 to 4"), ("1.5", "head must be from 1 to 4"),
                       ("0.1", "layer must be from 1"), ("2-3", "LAYER.HEAD"), ("", "at least one head"),
                       ("1.1.1", "LAYER.HEAD")):
        with pytest.raises(InputError, match=words):
            parse_heads(bad, 4, 4)
    with pytest.raises(ValueError, match="out of range"):
        ours(deep, batch(deep), Interventions(ablate=frozenset({(4, 0)})))


# ---- patching, from a base and in variants ------------------------------------------------------------------------

def patched_reference(reference, inputs, source_inputs, kind, layer, head=None):
    contexts, intermediates = record_reference(reference, source_inputs)
    size = reference.config.hidden_size // reference.config.num_attention_heads

    def edit(hooks):
        if kind == "head":
            def take(x):
                x = x.clone()
                x[..., head * size:(head + 1) * size] = contexts[layer][..., head * size:(head + 1) * size]
                return (x,)
            hooks.on(hooks.layer(layer).attention.output.dense, take)
        elif kind == "attention":
            hooks.on(hooks.layer(layer).attention.output.dense, lambda x: (contexts[layer],))
        else:
            hooks.on(hooks.layer(layer).output.dense, lambda x: (intermediates[layer],))
    return run_reference(reference, inputs, edit)


def test_patches_from_a_base_and_as_variants_equal_hooks(deep, reference):
    tokenizer = deep.tokenizer
    x = tokenizer("The nurse said that [MASK] would be late.", return_tensors="pt")
    x_prime = tokenizer("The man said that [MASK] would be late.", return_tensors="pt")
    with torch.inference_mode():
        base = forward.encoder(deep, x["input_ids"], interventions=Interventions(record=True)).activations
        source = forward.encoder(deep, x_prime["input_ids"], interventions=Interventions(record=True)).activations
    cases = [("head", 0, 2), ("head", 2, 1), ("head", 3, 3), ("attention", 1, None), ("attention", 3, None),
             ("mlp", 0, None), ("mlp", 3, None)]

    def edit(kind, layer, head):
        if kind == "head":
            return Interventions(patch_heads=frozenset({(layer, head)}))
        if kind == "attention":
            return Interventions(patch_attention=frozenset({layer}))
        return Interventions(patch_mlp=frozenset({layer}))

    wanted = [patched_reference(reference, x, x_prime, *case)[0] for case in cases]
    mask = x["input_ids"][0].tolist().index(tokenizer.mask_token_id)
    for case, want in zip(cases, wanted):
        one = edit(*case)
        whole = Interventions(one.ablate, one.patch_heads, one.patch_attention, one.patch_mlp, source=source)
        _, got = ours(deep, x, whole)
        assert torch.allclose(got[0], want, atol=1e-4, rtol=1e-4), case
        from_base = Interventions(one.ablate, one.patch_heads, one.patch_attention, one.patch_mlp, source=source,
                                  base=base)
        _, got = ours(deep, x, from_base)
        assert torch.allclose(got[0], want, atol=1e-4, rtol=1e-4), case
    everything = tuple(edit(*case) for case in cases)
    for budget in (1e9, 1.0):  # one chunk, and one row per chunk
        with torch.inference_mode():
            out = forward.encoder(deep, x["input_ids"], interventions=Interventions(
                source=source, base=base, variants=everything, positions=(mask,)))
            got = forward.mlm_logits(deep, out.last_hidden[:, 0])
            assert out.last_hidden.shape == (len(cases), 1, deep.config.hidden_size)
            from bertlens.interventions import run_encoder

            chunked = run_encoder(deep, x["input_ids"], torch.zeros_like(x["input_ids"]), None, Interventions(
                source=source, base=base, variants=everything, positions=(mask,)), memory_budget=budget)
        assert torch.allclose(forward.mlm_logits(deep, chunked.last_hidden[:, 0]), got, atol=1e-5)
        for row, want in enumerate(wanted):
            assert torch.allclose(got[row], want[mask], atol=1e-4, rtol=1e-4), cases[row]


def test_variants_without_a_base_and_with_shared_ablation(deep, reference):
    x = deep.tokenizer(TEXTS[0], return_tensors="pt")
    size = deep.config.hidden_size // deep.config.num_attention_heads
    shared = {(3, 1)}
    rows = (Interventions(ablate=frozenset({(0, 0)})), Interventions(), Interventions(ablate=frozenset({(2, 3)})))
    with torch.inference_mode():
        out = forward.encoder(deep, x["input_ids"], interventions=Interventions(ablate=frozenset(shared),
                                                                                 variants=rows))
        got = forward.mlm_logits(deep, out.last_hidden)
    for row, variant in enumerate(rows):
        want = run_reference(reference, x, ablate_hooks(shared | set(variant.ablate), size))[0]
        assert torch.allclose(got[row], want, atol=1e-4, rtol=1e-4)


def test_gradients_flow_through_a_switched_off_head(deep, reference):
    x = deep.tokenizer(TEXTS[0], return_tensors="pt")
    mask = x["input_ids"][0].tolist().index(deep.tokenizer.mask_token_id)
    size = deep.config.hidden_size // deep.config.num_attention_heads
    embeds = deep.model.bert.embeddings.word_embeddings(x["input_ids"]).detach().requires_grad_(True)
    with torch.enable_grad():
        out = forward.encoder(deep, None, torch.zeros_like(x["input_ids"]), inputs_embeds=embeds,
                              interventions=Interventions(ablate=frozenset({(1, 2)})))
        forward.mlm_logits(deep, out.last_hidden[:, mask])[0, 100].backward()
    ours_grad = embeds.grad.clone()
    ref_embeds = embeds.detach().clone().requires_grad_(True)
    hooks = Hooks(reference)
    ablate_hooks({(1, 2)}, size)(hooks)
    try:
        reference(inputs_embeds=ref_embeds).logits[0, mask, 100].backward()
    finally:
        hooks.close()
    assert torch.allclose(ours_grad, ref_embeds.grad, atol=1e-4, rtol=1e-3)
    assert not any(p.requires_grad for p in deep.model.parameters())


def test_bad_combinations_are_refused(deep):
    x = deep.tokenizer(TEXTS[0], return_tensors="pt")
    with torch.inference_mode():
        base = forward.encoder(deep, x["input_ids"], interventions=Interventions(record=True)).activations
        for iv, words in ((Interventions(patch_heads=frozenset({(0, 0)})), "needs a `source`"),
                          (Interventions(positions=(99,)), "not positions"),
                          (Interventions(variants=(Interventions(record=True),)), "edits only"),
                          (Interventions(record=True, positions=(1,)), "whole, single run")):
            with pytest.raises(ValueError, match=words):
                forward.encoder(deep, x["input_ids"], interventions=iv)
        other = deep.tokenizer("Short [MASK].", return_tensors="pt")
        with pytest.raises(ValueError, match="tokens"):
            forward.encoder(deep, other["input_ids"], interventions=Interventions(
                source=base, patch_mlp=frozenset({0})))
        with pytest.raises(ValueError, match="Attentions"):
            forward.encoder(deep, x["input_ids"], attentions=True, interventions=Interventions(
                base=base, ablate=frozenset({(0, 0)})))
        with pytest.raises(ValueError, match="Hidden states"):
            forward.encoder(deep, x["input_ids"], hidden_states=True, interventions=Interventions(
                base=base, ablate=frozenset({(0, 0)})))


# ---- no state outlives a call --------------------------------------------------------------------------------------

def test_a_thread_switching_heads_off_and_one_not_never_see_each_other(deep):
    text = TEXTS[0]
    lone_plain = fill_mask(deep, text, top_k=10, filters=Filters())
    lone_off = switch_heads_off(deep, text, "1.1,2.2,3.3,4.4", top_k=10)
    assert lone_off.after != lone_plain
    outputs: dict[str, list] = {"plain": [], "off": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name, fn):
        try:
            start.wait()
            for _ in range(5):
                outputs[name].append(fn())
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=("plain", lambda: fill_mask(deep, text, top_k=10))),
               threading.Thread(target=run, args=("off", lambda: switch_heads_off(deep, text, "1.1,2.2,3.3,4.4",
                                                                                   top_k=10)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert outputs["plain"] == [lone_plain] * 5
    assert outputs["off"] == [lone_off] * 5
    assert not deep.model.bert.encoder.layer[0].attention.output.dense._forward_pre_hooks
    assert not any(p.requires_grad for p in deep.model.parameters())
