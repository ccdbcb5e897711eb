"""Causal mediation (`bertlens.mediation`, the `mediate` verb and the across-templates metric), checked against an
implementation written here with forward hooks on transformers' own BertForMaskedLM: one full pass per head and
per layer, patched from the counterfactual run's recorded activations."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from bertlens import Settings, load_model
from bertlens.cli import main
from bertlens.errors import InputError
from bertlens.mediation import SwapLengthError, mediate, parse_swap, parse_targets, prepare, rank_heads
from bertlens.registry import Context, Stopped, get

TEXT = "The nurse said that [MASK] would be late."


@pytest.fixture(scope="module")
def deep_dir(tmp_path_factory):
    from devtools.random_model import build_random_model

    return build_random_model(tmp_path_factory.mktemp("deep") / "tiny-3", size="tiny", seed=5, num_hidden_layers=3)


@pytest.fixture(scope="module")
def deep(deep_dir):
    return load_model(Settings(model=str(deep_dir), device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def reference(deep_dir):
    from transformers import BertForMaskedLM

    return BertForMaskedLM.from_pretrained(str(deep_dir), attn_implementation="eager").eval()


def hooked_effects(model, tokenizer, text: str, counterfactual: str, t1: str, t2: str) -> dict:
    """TE, every head's NIE and the layer effects, by the definitions, with forward pre-hooks: record x′'s context
    (the input of attention.output.dense) and intermediate (the input of output.dense) at every layer, then one
    full pass of x per patch, the patched input replaced for that call only."""
    config = model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    size = config.hidden_size // heads
    x = tokenizer(text, return_tensors="pt")["input_ids"]
    x_prime = tokenizer(counterfactual, return_tensors="pt")["input_ids"]
    mask = x[0].tolist().index(tokenizer.mask_token_id)
    ids = tokenizer.convert_tokens_to_ids([t1, t2])
    layer = lambda l: model.bert.encoder.layer[l]  # noqa: E731

    def y(input_ids, patches=()):
        handles = [module.register_forward_pre_hook(fn) for module, fn in patches]
        try:
            with torch.no_grad():
                p = torch.softmax(model(input_ids=input_ids).logits[0, mask].double(), dim=-1)
        finally:
            for handle in handles:
                handle.remove()
        return float(p[ids[0]] / p[ids[1]])

    contexts, intermediates = {}, {}
    recorders = [(layer(l).attention.output.dense, lambda m, a, l=l: contexts.__setitem__(l, a[0].clone()))
                 for l in range(layers)]
    recorders += [(layer(l).output.dense, lambda m, a, l=l: intermediates.__setitem__(l, a[0].clone()))
                  for l in range(layers)]
    y_prime = y(x_prime, recorders)
    y_x = y(x)

    def head_patch(l, h):
        def fn(module, args):
            patched = args[0].clone()
            patched[..., h * size:(h + 1) * size] = contexts[l][..., h * size:(h + 1) * size]
            return (patched,)
        return [(layer(l).attention.output.dense, fn)]

    return {
        "y": y_x, "te": y_prime / y_x - 1,
        "heads": [[y(x, head_patch(l, h)) / y_x - 1 for h in range(heads)] for l in range(layers)],
        "attention": [y(x, [(layer(l).attention.output.dense, lambda m, a, l=l: (contexts[l],))]) / y_x - 1
                      for l in range(layers)],
        "mlp": [y(x, [(layer(l).output.dense, lambda m, a, l=l: (intermediates[l],))]) / y_x - 1
                for l in range(layers)],
    }


@pytest.mark.parametrize("text, swap, targets", [
    (TEXT, "nurse=man", "she,he"),
    ("After lunch, the firefighter told me that [MASK] was tired.", "firefighter=electrician", "he,she"),
])
def test_every_effect_equals_the_hooked_reference(deep, reference, text, swap, targets):
    result = mediate(deep, text, swap, targets)
    word, other = swap.split("=")
    t1, t2 = targets.split(",")
    want = hooked_effects(reference, deep.tokenizer, text, text.replace(word, other), t1, t2)
    assert result.total_effect == pytest.approx(want["te"], rel=1e-4, abs=1e-6)
    assert result.y == pytest.approx(want["y"], rel=1e-4)
    layers, heads = deep.info.layers, deep.info.heads
    assert len(result.heads) == layers and all(len(row) == heads for row in result.heads)
    for l in range(layers):
        assert result.heads[l] == pytest.approx(want["heads"][l], rel=1e-3, abs=1e-6)
    assert result.attention_layers == pytest.approx(want["attention"], rel=1e-3, abs=1e-6)
    assert result.mlp_layers == pytest.approx(want["mlp"], rel=1e-3, abs=1e-6)
    assert max(abs(v) for row in want["heads"] for v in row) > 1e-4  # the comparison is not between zeros


def test_effects_do_not_depend_on_how_the_rows_are_batched(deep):
    whole = mediate(deep, TEXT, "nurse=man", "she,he")
    steps = []
    one_by_one = mediate(deep, TEXT, "nurse=man", "she,he", memory_budget=1.0,
                         progress=lambda done, total, message="": steps.append((done, total)))
    assert np.allclose(whole.grid(), one_by_one.grid(), rtol=1e-4, atol=1e-5)
    assert np.allclose(whole.mlp_layers, one_by_one.mlp_layers, rtol=1e-4, atol=1e-5)
    runs = deep.info.layers * (deep.info.heads + 2)
    assert steps[0] == (0, runs + 2) and steps[-1] == (runs + 2, runs + 2)
    assert len(steps) == runs + 2  # one report per batch of one row, the first and the last


def test_the_swap_replaces_every_whole_word_occurrence(deep):
    p = prepare(deep, "The nurse told the nurses' nurse that [MASK] was late.", "nurse=man", "she,he")
    assert p.counterfactual == "The man told the nurses' man that [MASK] was late."
    assert [p.tokens[i] for i in p.swapped_positions] == ["nurse", "nurse"]
    result = mediate(deep, p.text, p.swap, p.targets, prepared=p)
    assert result.y_counterfactual / result.y - 1 == pytest.approx(result.total_effect, rel=1e-9)
    assert 0 < result.p_targets[0] < 1 and 0 < result.p_targets_counterfactual[1] < 1


def test_top_heads_follow_the_direction_of_the_total_effect():
    grid = np.array([[0.1, -0.5], [0.3, 0.0]])
    assert [(h.layer, h.head) for h in rank_heads(grid, 0.2, 2)] == [(2, 1), (1, 1)]
    assert [(h.layer, h.head) for h in rank_heads(grid, -0.2, 2)] == [(1, 2), (2, 2)]
    assert rank_heads(grid, 0.2)[0].nie == pytest.approx(0.3)


# ---- bad input ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, swap, targets, words", [
    ("The nurse said that she would be late.", "nurse=man", "she,he", "no \\[MASK\\]"),
    ("The [MASK] said that [MASK] would be late.", "said=told", "she,he", "the text has 2"),
    (TEXT, "doctor=man", "she,he", "'doctor' is not a word of the text"),
    (TEXT, "nurs=man", "she,he", "'nurs' is not a word of the text"),
    (TEXT, "nurse", "she,he", "WORD=OTHER"),
    (TEXT, "nurse=", "she,he", "Both sides"),
    (TEXT, "nurse=nurse", "she,he", "with itself"),
    (TEXT, "nurse=[MASK]", "she,he", "cannot contain"),
    (TEXT, "nurse=man", "she", "two target words"),
    (TEXT, "nurse=man", "she,she", "two different"),
    (TEXT, "nurse=man", "she,firefighter", "'firefighter' is 2 WordPieces \\(fire ##fighter\\)"),
    ("", "nurse=man", "she,he", "empty"),
])
def test_bad_input_says_what_to_fix(deep, text, swap, targets, words):
    with pytest.raises(InputError, match=words):
        prepare(deep, text, swap, targets)


def test_a_swap_that_changes_the_number_of_pieces_shows_both_tokenisations(deep):
    with pytest.raises(SwapLengthError) as caught:
        prepare(deep, TEXT, "nurse=firefighter", "she,he")
    message = str(caught.value)
    assert "'nurse' = nurse (1 piece)" in message and "'firefighter' = fire ##fighter (2 pieces)" in message
    assert "[CLS] The nurse said" in message and "[CLS] The fire ##fighter said" in message
    assert caught.value.tokens[2] == "nurse" and caught.value.counterfactual_tokens[2:4] == ("fire", "##fighter")


def test_swap_and_targets_parse():
    assert str(parse_swap(" nurse = man ")) == "nurse=man"
    assert parse_targets(" she , he ") == ("she", "he")
    assert parse_targets(["she", "he"]) == ("she", "he")


# ---- command line -------------------------------------------------------------------------------------------------

def test_cli_json_has_the_issue_keys_and_numbers_from_one(deep, deep_dir, capsys):
    code = main(["mediate", TEXT, "--swap", "nurse=man", "--targets", "she,he", "--top", "3", "--json",
                 "--model", str(deep_dir), "--device", "cpu"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"total_effect", "heads", "attention_layers", "mlp_layers", "top_heads", "random_weights"} <= set(data)
    layers, heads = deep.info.layers, deep.info.heads
    assert len(data["heads"]) == layers and {len(row) for row in data["heads"]} == {heads}
    assert len(data["attention_layers"]) == len(data["mlp_layers"]) == layers
    direct = mediate(deep, TEXT, "nurse=man", "she,he")
    assert data["total_effect"] == pytest.approx(direct.total_effect, rel=1e-6)
    assert len(data["top_heads"]) == 3
    for top in data["top_heads"]:
        assert 1 <= top["layer"] <= layers and 1 <= top["head"] <= heads
        assert top["nie"] == pytest.approx(data["heads"][top["layer"] - 1][top["head"] - 1])
    assert data["random_weights"] is True


def test_cli_text_output(deep_dir, capsys):
    assert main(["mediate", TEXT, "--swap", "nurse=man", "--targets", "she,he", "--model", str(deep_dir)]) == 0
    out = capsys.readouterr().out
    assert "total_effect" in out and "RANDOM WEIGHTS" in out and "top heads" in out


@pytest.mark.parametrize("args, words", [
    ([TEXT, "--swap", "nurse=firefighter", "--targets", "she,he"], "fire ##fighter"),
    ([TEXT, "--swap", "nurse=man", "--targets", "she,firefighter"], "2 WordPieces"),
    ([TEXT, "--swap", "doctor=man", "--targets", "she,he"], "not a word of the text"),
    (["The nurse said.", "--swap", "nurse=man", "--targets", "she,he"], "no \\[MASK\\]"),
    (["[MASK] nurse [MASK]", "--swap", "nurse=man", "--targets", "she,he"], "has 2"),
    ([TEXT, "--swap", "nurse=man", "--targets", "she,he", "--top", "0"], "--top"),
])
def test_cli_bad_input_exits_2(deep_dir, capsys, args, words):
    assert main(["mediate", *args, "--model", str(deep_dir)]) == 2
    assert __import__("re").search(words, capsys.readouterr().err)


def test_fill_mask_ablate_cli(deep, deep_dir, capsys):
    code = main(["fill-mask", TEXT, "--ablate", "1.2,3.4", "--targets", "she,he", "--top-k", "3", "--json",
                 "--model", str(deep_dir)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ablated"] == [{"layer": 1, "head": 2}, {"layer": 3, "head": 4}]
    assert len(data["before"]["masks"][0]["candidates"]) == len(data["after"]["masks"][0]["candidates"]) == 3
    assert data["before"]["masks"][0]["candidates"] != data["after"]["masks"][0]["candidates"]
    assert [t["word"] for t in data["targets"]] == ["she", "he"]
    assert main(["fill-mask", TEXT, "--ablate", "1.2", "--model", str(deep_dir)]) == 0
    assert "heads off" in capsys.readouterr().out
    for bad, words in (("4.1", "layer must be from 1 to 3"), ("1.5", "head must be from 1 to 4"), ("x", "LAYER")):
        assert main(["fill-mask", TEXT, "--ablate", bad, "--model", str(deep_dir)]) == 2
        assert words in capsys.readouterr().err


# ---- across templates ----------------------------------------------------------------------------------------------

TEMPLATES = ["The {occupation} said that [MASK] would be late.",
             "The {occupation} left early because [MASK] felt sick.",
             "The {occupation} was tired, so [MASK] went home early."]


def test_across_templates_is_a_registered_metric_and_averages_single_mediations(deep):
    from bertlens.bias.occupation_mediation import choose_occupations, sentence

    method = get("metric", "mediation")
    assert method.data == "pronoun_templates" and "mlm" in method.needs
    result = method.run(deep, TEMPLATES, method.spec.validate({"occupations": 4, "bootstrap": 500}), Context())
    choices = choose_occupations(deep, 4)
    assert [c.female for c in choices] == [False, False, True, True]
    assert [c.other for c in choices] == ["woman", "woman", "man", "man"]
    te = np.zeros((len(TEMPLATES), 4))
    heads = np.zeros((len(TEMPLATES), 4, deep.info.layers, deep.info.heads))
    for t, template in enumerate(TEMPLATES):
        for j, choice in enumerate(choices):
            text, swap, targets = sentence(template, choice)
            assert targets == (("he", "she") if choice.female else ("she", "he"))
            single = mediate(deep, text, swap, targets)
            te[t, j], heads[t, j] = single.total_effect, single.grid()
    assert result.value == pytest.approx(te.mean(), rel=1e-9)
    assert result.ci_low <= result.value <= result.ci_high
    detail = result.detail
    assert np.allclose(np.array(detail.heads.mean), heads.mean(axis=(0, 1)))
    assert np.all(np.array(detail.heads.low) <= np.array(detail.heads.mean) + 1e-12)
    assert np.all(np.array(detail.heads.high) >= np.array(detail.heads.mean) - 1e-12)
    assert len(detail.attention_layers.mean) == deep.info.layers
    assert result.n == len(result.decisions) == len(TEMPLATES) * 4
    first = result.decisions[0]
    assert first.label == TEMPLATES[0].replace("{occupation}", choices[0].occupation)
    assert "interval" in result.headline() and "templates" in result.interval
    assert result.complete and result.warnings == ("Only 3 template(s): an interval over so few templates is "
                                                   "coarse.",)


class StopAfter(Context):
    def __init__(self, reports: int) -> None:
        self.reports, self.seen = reports, 0

    def progress(self, done, total, message=""):
        self.seen += 1
        if self.seen > self.reports:
            raise Stopped()

    def stopped(self):
        return self.seen >= self.reports


def test_a_stopped_run_keeps_the_templates_it_finished(deep):
    method = get("metric", "mediation")
    config = method.spec.validate({"occupations": 2, "bootstrap": 100})
    partial = method.run(deep, TEMPLATES, config, StopAfter(3))
    assert not partial.complete and len(partial.detail.templates) == 1
    assert any("Stopped after 1" in w for w in partial.warnings)
    with pytest.raises(Stopped):
        method.run(deep, TEMPLATES, config, StopAfter(1))


def test_across_templates_refuses_bad_config_and_templates(deep):
    from bertlens.registry import SpecError

    method = get("metric", "mediation")
    with pytest.raises(SpecError, match="'occupations' must be a whole number from 2 to 64"):
        method.spec.validate({"occupations": 1})
    config = method.spec.validate({"occupations": 2})
    with pytest.raises(InputError, match="\\[MASK\\]"):
        method.run(deep, ["The {occupation} is here."], config, Context())
    cost = method.estimate(deep, None, config)
    assert cost.passes > 0


def test_cli_across_templates_runs_the_registered_metric(deep, deep_dir, tmp_path, capsys):
    templates = tmp_path / "templates.txt"
    templates.write_text("\n".join(TEMPLATES[:2]) + "\n")
    code = main(["mediate", "--across-templates", "--templates", str(templates), "--occupations", "2",
                 "--bootstrap", "100", "--json", "--model", str(deep_dir)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    method = get("metric", "mediation")
    want = method.run(deep, TEMPLATES[:2], method.spec.validate({"occupations": 2, "bootstrap": 100}), Context())
    assert data["headline"]["value"] == pytest.approx(want.value, rel=1e-9)
    assert len(data["detail"]["heads"]["mean"]) == deep.info.layers
    assert data["detail"]["templates"] == TEMPLATES[:2]
    assert main(["mediate", "--across-templates", "--occupations", "99", "--model", str(deep_dir)]) == 2
    assert "'occupations' must be a whole number from 2 to 64" in capsys.readouterr().err
    assert main(["mediate", TEXT, "--model", str(deep_dir)]) == 2


def test_progress_comes_in_steps_of_equal_work(deep):
    steps = []
    mediate(deep, TEXT, "nurse=man", "she,he", steps=3,
            progress=lambda done, total, message="": steps.append(done))
    runs = deep.info.layers * (deep.info.heads + 2)
    assert steps[0] == 0 and steps[-1] == runs + 2
    assert 3 <= len(steps) - 2 <= 4  # the first report, about 3 batches, the last
    assert steps == sorted(steps)
