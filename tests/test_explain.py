"""Explain: each method against an independent computation with a separately loaded transformers model."""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
import torch

from bertlens.analysis import analyse
from bertlens.errors import InputError
from bertlens.explain import (attention_rollout, compare, gradient_x_input, integrated_gradients, logit_lens,
                              occlusion, resolve_target, spearman, words_of)
from bertlens.explanation import explain as explain_all
from bertlens.fill_mask import Filters, fill_mask

TEXT = "The doctor said that [MASK] would be late for the meeting."


def explain(lm, text, word, contrast=None, steps=20):
    """Every registered explainer, with `steps` integrated-gradients steps."""
    return explain_all(lm, text, word, contrast, options={"integrated_gradients": {"steps": steps}})


def build_biased_model(source: Path, folder: Path) -> Path:
    """The tiny random model with a non-zero decoder bias (a fresh model's is all zeros), so that switching the
    bias off changes the lens."""
    from transformers import AutoTokenizer, BertForPreTraining

    model = BertForPreTraining.from_pretrained(str(source))
    with torch.no_grad():
        model.cls.predictions.bias.copy_(torch.randn(model.config.vocab_size, generator=torch.Generator().manual_seed(1)))
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def biased_dir(tiny_model_dir, tmp_path_factory):
    return build_biased_model(tiny_model_dir, tmp_path_factory.mktemp("biased") / "tiny-biased")


@pytest.fixture(scope="module")
def lm(biased_dir):
    from bertlens import Settings, load_model

    return load_model(Settings(model=str(biased_dir), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def ref(biased_dir):
    """The same weights through transformers alone: the reference every method is checked against."""
    from transformers import AutoTokenizer, BertForPreTraining

    model = BertForPreTraining.from_pretrained(str(biased_dir), attn_implementation="eager").eval()
    assert model.cls.predictions.bias.abs().sum() > 0
    return model, AutoTokenizer.from_pretrained(str(biased_dir))


def ids_of(ref, text: str) -> torch.Tensor:
    return ref[1](text, return_tensors="pt")["input_ids"]


def ref_f(ref, ids: torch.Tensor, position: int, a: int, b: int | None = None) -> torch.Tensor:
    """f of each row of `ids` by a plain forward pass of the reference model."""
    with torch.no_grad():
        logits = ref[0](input_ids=ids).prediction_logits[:, position].double()
    return torch.log_softmax(logits, -1)[:, a] if b is None else logits[:, a] - logits[:, b]


def token_id(ref, word: str) -> int:
    return ref[1].convert_tokens_to_ids(word)


# ----- logit lens -------------------------------------------------------------------------------------------------

def test_lens_at_the_last_layer_equals_the_models_own_logits(lm, ref):
    target = resolve_target(lm, TEXT, "he", "she")
    analysis = analyse(lm, TEXT, hidden_states=True, attentions=True)
    from bertlens.explain import head_logits

    with torch.no_grad():
        logits = ref[0](input_ids=ids_of(ref, TEXT)).prediction_logits[0, target.position]
    lens_logits = head_logits(lm, analysis.hidden_states[-1, target.position])
    assert torch.allclose(lens_logits, logits, atol=1e-5, rtol=0)
    lens = logit_lens(lm, analysis, target, top_k=5)
    expected = torch.log_softmax(logits.double(), -1)
    last = lens.layers[-1]
    assert len(lens.layers) == lm.info.layers + 1
    assert last.kl_to_final == pytest.approx(0.0, abs=1e-9)
    assert last.target_log_prob == pytest.approx(float(expected[token_id(ref, "he")]), abs=1e-5)
    assert [c.token_id for c in last.top] == expected.topk(5).indices.tolist()


@pytest.mark.parametrize("bias", [True, False])
def test_lens_applies_the_whole_head_to_every_hidden_state(lm, ref, bias):
    """dense, GELU, LayerNorm, tied decoder (+ bias), written out here from the raw weights."""
    model = ref[0]
    ids = ids_of(ref, TEXT)
    position = ids[0].tolist().index(ref[1].mask_token_id)
    with torch.no_grad():
        states = torch.stack(model(input_ids=ids, output_hidden_states=True).hidden_states)[:, 0, position].double()
        head = model.cls.predictions
        t = head.transform
        h = torch.nn.functional.gelu(states @ t.dense.weight.double().T + t.dense.bias.double())
        h = torch.nn.functional.layer_norm(h, (h.shape[-1],), t.LayerNorm.weight.double(),
                                           t.LayerNorm.bias.double(), t.LayerNorm.eps)
        logits = h @ model.bert.embeddings.word_embeddings.weight.double().T + (head.bias.double() if bias else 0)
    expected = torch.log_softmax(logits, -1)
    he, she = token_id(ref, "he"), token_id(ref, "she")
    lens = logit_lens(lm, analyse(lm, TEXT, hidden_states=True), resolve_target(lm, TEXT, "he", "she"), 3, bias)
    other = logit_lens(lm, analyse(lm, TEXT, hidden_states=True), resolve_target(lm, TEXT, "he", "she"), 3, not bias)
    assert lens.layers[-1].target_log_prob != pytest.approx(other.layers[-1].target_log_prob, abs=1e-3)
    for layer, row in zip(lens.layers, expected):
        p = row.exp()
        assert layer.target_log_prob == pytest.approx(float(row[he]), abs=1e-4)
        assert layer.contrast_log_prob == pytest.approx(float(row[she]), abs=1e-4)
        assert layer.target_rank == int((row > row[he]).sum()) + 1
        assert layer.entropy == pytest.approx(float(-(p * row).sum()), abs=1e-4)
        kl = float((expected[-1].exp() * (expected[-1] - row)).sum())
        assert layer.kl_to_final == pytest.approx(kl, abs=1e-4)
        assert [c.token_id for c in layer.top] == row.topk(3).indices.tolist()


# ----- integrated gradients, gradient x input, occlusion ---------------------------------------------------------

def test_integrated_gradients_complete_within_one_percent_at_50_steps(lm, ref):
    for word, contrast in (("he", "she"), ("nurse", None)):
        target = resolve_target(lm, TEXT, word, contrast)
        ig, _ = integrated_gradients(lm, target, steps=50)
        change = ig.f_input - ig.f_baseline
        assert abs(change) > 1e-3
        assert abs(sum(ig.attributions) - change) <= 0.01 * abs(change)
        assert ig.completeness_gap == pytest.approx(sum(ig.attributions) - change, abs=1e-9)
        ids = ids_of(ref, TEXT)
        a, b = token_id(ref, word), (token_id(ref, contrast) if contrast else None)
        assert ig.f_input == pytest.approx(float(ref_f(ref, ids, target.position, a, b)[0]), abs=1e-4)
        kept = {0, len(ids[0]) - 1, target.position}
        base = torch.tensor([[t if i in kept else ref[1].mask_token_id for i, t in enumerate(ids[0].tolist())]])
        assert ig.f_baseline == pytest.approx(float(ref_f(ref, base, target.position, a, b)[0]), abs=1e-4)
        assert all(ig.attributions[i] == 0 for i in kept)


def test_integrated_gradients_match_a_reference_riemann_loop(lm, ref):
    """The trapezoid rule on 8 intervals, one reference forward and backward per point."""
    target = resolve_target(lm, TEXT, "he", "she")
    model, tokenizer = ref
    ids = ids_of(ref, TEXT)
    kept = {0, len(ids[0]) - 1, target.position}
    base = torch.tensor([[t if i in kept else tokenizer.pad_token_id for i, t in enumerate(ids[0].tolist())]])
    embed = model.bert.embeddings.word_embeddings
    x, b = embed(ids).detach(), embed(base).detach()
    he, she = token_id(ref, "he"), token_id(ref, "she")
    total = torch.zeros_like(x)
    for k in range(9):
        point = (b + k / 8 * (x - b)).requires_grad_(True)
        logits = model(inputs_embeds=point).prediction_logits[0, target.position]
        (grad,) = torch.autograd.grad(logits[he] - logits[she], point)
        total += grad * (0.5 if k in (0, 8) else 1.0) / 8
    expected = ((x - b) * total).sum(-1)[0]
    ig, _ = integrated_gradients(lm, target, steps=8, baseline="pad")
    assert ig.baseline == "pad" and ig.steps == 8
    assert torch.allclose(torch.tensor(ig.attributions, dtype=torch.float64), expected.double(), atol=1e-4)


def test_gradient_x_input_matches_autograd_on_the_reference(lm, ref):
    target = resolve_target(lm, TEXT, "nurse")
    model = ref[0]
    x = model.bert.embeddings.word_embeddings(ids_of(ref, TEXT)).detach().requires_grad_(True)
    log_p = torch.log_softmax(model(inputs_embeds=x).prediction_logits[0, target.position], -1)
    (grad,) = torch.autograd.grad(log_p[token_id(ref, "nurse")], x)
    expected = (grad * x).sum(-1)[0].detach().double()
    alone = gradient_x_input(lm, target)
    _, shared = integrated_gradients(lm, target, steps=4)
    assert torch.allclose(torch.tensor(alone.scores, dtype=torch.float64), expected, atol=1e-4)
    assert torch.allclose(torch.tensor(shared.scores, dtype=torch.float64), expected, atol=1e-4)


@pytest.mark.parametrize("contrast", ["she", None])
def test_occlusion_equals_explicit_remasking(lm, ref, contrast):
    target = resolve_target(lm, TEXT, "he", contrast)
    ids = ids_of(ref, TEXT)[0].tolist()
    a, b = token_id(ref, "he"), (token_id(ref, contrast) if contrast else None)
    f_input = float(ref_f(ref, torch.tensor([ids]), target.position, a, b)[0])
    result = occlusion(lm, target)
    with_f = occlusion(lm, target, f_input=f_input)
    for position, token in enumerate(ids):
        if position in (0, len(ids) - 1, target.position):
            expected = 0.0
        else:
            masked = ids[:position] + [ref[1].mask_token_id] + ids[position + 1:]
            expected = f_input - float(ref_f(ref, torch.tensor([masked]), target.position, a, b)[0])
        assert result.delta[position] == pytest.approx(expected, abs=1e-4), position
        assert with_f.delta[position] == pytest.approx(expected, abs=1e-4), position


# ----- attention rollout ------------------------------------------------------------------------------------------

def test_rollout_on_hand_built_matrices():
    # layer 1: every token attends to token 0 (both heads); layer 2: heads [[0,1],[1,0]] and I, mean 0.5 everywhere
    layer1 = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]] * 2)
    layer2 = torch.stack([torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.eye(2)])
    # by hand, 0.5 A + 0.5 I: A1 = [[1, 0], [.5, .5]], A2 = [[.75, .25], [.25, .75]]
    # rollout = A2 @ A1 = [[.75 + .125, .125], [.25 + .375, .375]]
    rolled = attention_rollout(torch.stack([layer1, layer2]))
    assert torch.allclose(rolled, torch.tensor([[0.875, 0.125], [0.625, 0.375]], dtype=torch.float64))
    # the other order: A1 @ A2 = [[.75, .25], [.5, .5]]
    assert torch.allclose(attention_rollout(torch.stack([layer2, layer1])),
                          torch.tensor([[0.75, 0.25], [0.5, 0.5]], dtype=torch.float64))
    # identity attention stays the identity; renormalisation: rows of 0.5 A + 0.5 I sum to 1 already
    assert torch.equal(attention_rollout(torch.eye(3).expand(4, 2, 3, 3)), torch.eye(3, dtype=torch.float64))
    with pytest.raises(InputError):
        attention_rollout(torch.ones(2, 3, 3))


def test_rollout_from_the_analysis_reads_the_mask_row(lm, ref):
    result = explain(lm, TEXT, "he", steps=2)
    with torch.no_grad():
        att = torch.stack(ref[0](input_ids=ids_of(ref, TEXT), output_attentions=True).attentions)[:, 0]
    expected = attention_rollout(att)[result.target.position]
    weights = result.results["rollout"].scores
    assert torch.allclose(torch.tensor(weights, dtype=torch.float64), expected, atol=1e-5)
    assert sum(weights) == pytest.approx(1.0, abs=1e-9)


# ----- words, comparison ------------------------------------------------------------------------------------------

def test_wordpieces_merge_into_words_and_scores_sum(lm):
    text = "The firefighter said [MASK] was tired."
    target = resolve_target(lm, text, "he")
    words = words_of(analyse(lm, text), target)
    assert words.words == ("The", "firefighter", "said", "was", "tired", ".")
    assert words.pieces[1] == (2, 3)
    scores = tuple(float(i) for i in range(10))
    assert words.merge(scores) == (1.0, 5.0, 4.0, 6.0, 7.0, 8.0)


def test_spearman_by_hand():
    assert spearman((1, 2, 3, 4), (1, 3, 2, 4)) == pytest.approx(0.8)  # 1 - 6*2 / (4*15)
    assert spearman((1, 2, 3), (3, 2, 1)) == pytest.approx(-1.0)
    assert spearman((1, 2), (1, 2)) is None and spearman((1, 1, 1), (1, 2, 3)) is None


def test_comparison_says_where_methods_disagree(lm):
    target = resolve_target(lm, "The firefighter said [MASK] was tired.", "he")
    words = words_of(analyse(lm, target.text), target)
    agree = compare(words, {"a": tuple(range(9)), "b": tuple(2 * i for i in range(9))})
    assert agree.correlations[0].rho == pytest.approx(1.0) and agree.disagreements == ()
    reverse = compare(words, {"a": tuple(range(9)), "b": tuple(-i for i in range(9))})
    assert reverse.correlations[0].rho == pytest.approx(-1.0)
    assert any("rank the words differently" in n for n in reverse.disagreements)
    assert any("disagree on the word" in n for n in reverse.disagreements)


# ----- bad input --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,word,contrast,message", [
    ("The doctor said he would be late.", "he", None, "no [MASK]"),
    ("The doctor said he would be [mask].", "he", None, "exactly as [MASK]"),
    (TEXT, "firefighter", None, "first piece 'fire'"),
    (TEXT, "he", "firefighter", "contrast 'firefighter' is 2 WordPieces"),
    (TEXT, "he", "he", "same WordPiece"),
    (TEXT, "  ", None, "Type the target word"),
    ("word " * 600 + "[MASK]", "he", None, "tokens long"),
])
def test_bad_input_gets_a_clear_message(lm, text, word, contrast, message):
    with pytest.raises(InputError, match=None) as info:
        explain(lm, text, word, contrast, steps=2)
    assert message in str(info.value)


def test_a_multi_piece_word_offers_its_first_piece(lm):
    from bertlens.explain import MultiPieceWord

    with pytest.raises(MultiPieceWord) as info:
        resolve_target(lm, TEXT, "he", "firefighter")
    assert (info.value.role, info.value.word, info.value.first_piece) == ("contrast", "firefighter", "fire")


def test_no_mask_message_offers_a_masked_text(lm):
    with pytest.raises(InputError) as info:
        resolve_target(lm, "The doctor said he would be late.", "he")
    assert "The doctor said he would be [MASK]." in str(info.value)


@pytest.mark.parametrize("steps", [0, 301, -5, 2.5, True])
def test_steps_outside_1_to_300_are_refused(lm, steps):
    with pytest.raises(InputError, match="from 1 to 300"):
        explain(lm, TEXT, "he", steps=steps)


def test_mask_number_out_of_range(lm):
    with pytest.raises(InputError, match="choose a mask from 1 to 2"):
        resolve_target(lm, "The [MASK] sat on the [MASK].", "cat", mask_index=2)
    assert resolve_target(lm, "The [MASK] sat on the [MASK].", "mat", mask_index=1).position == 6


def test_int8_model_refuses_gradients_but_occludes(lm):
    from bertlens.model import quantize_int8

    small = quantize_int8(lm)
    target = resolve_target(small, TEXT, "he")
    with pytest.raises(InputError, match="float32"):
        integrated_gradients(small, target, steps=2)
    delta = occlusion(small, target).delta
    assert len(delta) == len(lm.tokenizer(TEXT)["input_ids"]) and any(d != 0 for d in delta)


# ----- shared model -----------------------------------------------------------------------------------------------

def test_explanation_and_fill_mask_in_two_threads_equal_their_single_threaded_results(lm):
    lone_explain = explain(lm, TEXT, "he", "she", steps=10)
    lone_fill = fill_mask(lm, TEXT, top_k=10, filters=Filters())
    outputs: dict[str, list] = {"explain": [], "fill": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name, fn):
        try:
            start.wait()
            for _ in range(3):
                outputs[name].append(fn())
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=("explain", lambda: explain(lm, TEXT, "he", "she", steps=10))),
               threading.Thread(target=run, args=("fill", lambda: fill_mask(lm, TEXT, top_k=10, filters=Filters())))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for result in outputs["fill"]:
        assert result == lone_fill
    for result in outputs["explain"]:
        assert result.results["lens"].detail == lone_explain.results["lens"].detail
        for name in ("integrated_gradients", "occlusion", "gradient_x_input", "rollout"):
            assert result.results[name].scores == pytest.approx(lone_explain.results[name].scores, abs=1e-6)
    assert not any(p.requires_grad for p in lm.model.parameters())
    assert not lm.model.training


# ----- command line -----------------------------------------------------------------------------------------------

def test_cli_json_has_the_issue_keys(lm, biased_dir, capsys):
    from bertlens.cli import main

    code = main(["explain", TEXT, "--target", "he", "--contrast", "she", "--steps", "5", "--json",
                 "--model", str(biased_dir), "--device", "cpu"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"lens", "integrated_gradients", "occlusion", "gradient_x_input", "rollout", "model"} <= set(data)
    assert len(data["lens"]["layers"]) == lm.info.layers + 1
    assert {"layer", "top", "target_log_prob", "entropy", "kl_to_final"} <= set(data["lens"]["layers"][0])
    assert set(data["lens"]["layers"][0]["top"][0]) == {"token", "token_id", "probability"}
    assert {"tokens", "attributions", "f_input", "f_baseline", "completeness_gap", "steps", "baseline"} <= \
        set(data["integrated_gradients"])
    assert {"tokens", "delta"} <= set(data["occlusion"]) and {"tokens", "weights"} <= set(data["rollout"])
    assert data["model"]["random_weights"] is True and data["model"]["model_id"] == str(biased_dir)
    assert data["integrated_gradients"]["steps"] == 5
    assert math.isfinite(data["integrated_gradients"]["completeness_gap"])


@pytest.mark.parametrize("argv,message", [
    (["The doctor said he would be late.", "--target", "he"], "no [MASK]"),
    ([TEXT, "--target", "firefighter"], "first piece"),
    ([TEXT, "--target", "he", "--contrast", "he"], "same WordPiece"),
    ([TEXT, "--target", "he", "--steps", "301"], "from 1 to 300"),
])
def test_cli_bad_input_exits_2_with_a_message(tiny_model_dir, capsys, argv, message):
    from bertlens.cli import main

    assert main(["explain", *argv, "--model", str(tiny_model_dir), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bench_section_reports_each_view_against_one_forward_pass(tiny_model_dir):
    from devtools import bench

    report = bench.run_benchmark(tiny_model_dir, device="cpu", repeats=1, sections=("explain",), command="pytest")
    assert not report.notes, report.notes
    rows = [r for r in report.rows if r.section == "explain"]
    assert rows[0].what.startswith("one forward pass") and "16 tokens" in rows[0].what
    assert sum("through transformers alone" in r.what for r in rows) == 2
    judged = [r for r in rows if r.target]
    assert [r.what.split(" ")[0] for r in judged] == ["logit", "occlusion:", "integrated"]
    for row in judged:
        assert row.met == (row.ratio <= float(row.target.split("<= ")[1].split("x")[0]))
    estimates = [r for r in rows if r.what.startswith("the run button's first estimate")]
    assert [e.what.split(" for ")[1].split(" (")[0] for e in estimates] == ["occlusion", "integrated gradients"]
    timed = {"occlusion": next(r for r in judged if r.what.startswith("occlusion:")),
             "integrated gradients": next(r for r in judged if r.what.startswith("integrated"))}
    for row in estimates:
        name = row.what.split(" for ")[1].split(" (")[0]
        assert row.median_ms > 0 and row.ratio == pytest.approx(row.median_ms / timed[name].median_ms)
