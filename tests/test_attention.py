"""Attention extraction equals the model's own outputs; statistics are right on matrices with known answers."""
from __future__ import annotations

import json
import math

import pytest
import torch

from bertlens import Settings, load_model
from bertlens.attention import (STATISTICS, extract, head_statistics, is_punctuation, mask_attention,
                                mean_over_heads)
from devtools.attention_timing import synthetic_text
from bertlens.cli import main
from bertlens.errors import InputError
from devtools.random_model import build_random_model

TOKENS = ["[CLS]", "a", ",", "b", "[SEP]"]


def reference_attentions(folder, lm, text, pair=None, model_class=None):
    """The attentions transformers itself returns for the same input, loaded independently of bertlens."""
    from transformers import BertForPreTraining

    model_class = model_class or BertForPreTraining
    model = model_class.from_pretrained(folder, attn_implementation="eager").eval()
    batch = lm.tokenizer(text, pair, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    return torch.stack([a[0] for a in out.attentions]), batch


def test_extracted_attentions_equal_the_models_own(tiny_model_dir, lm):
    text = "The doctor asked the nurse to help, and she did."
    result = extract(lm, text)
    expected, batch = reference_attentions(tiny_model_dir, lm, text)
    assert result.weights.shape == (lm.info.layers, lm.info.heads, batch["input_ids"].shape[1],
                                    batch["input_ids"].shape[1])
    torch.testing.assert_close(result.weights, expected)
    assert result.tokens == lm.tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    torch.testing.assert_close(result.weights.sum(-1), torch.ones(result.weights.shape[:3]))


def test_pair_uses_token_type_ids(tiny_model_dir, lm):
    a, b = "The cat sat on the mat.", "It was tired."
    result = extract(lm, a, b)
    expected, batch = reference_attentions(tiny_model_dir, lm, a, b)
    assert result.token_type_ids == batch["token_type_ids"][0].tolist()
    assert result.sentence_b_start == result.token_type_ids.index(1) == result.tokens.index("[SEP]") + 1
    torch.testing.assert_close(result.weights, expected)
    single_segment = {**batch, "token_type_ids": torch.zeros_like(batch["token_type_ids"])}
    with torch.inference_mode():
        flat = torch.stack([x[0] for x in lm.model.bert(**single_segment, output_attentions=True).attentions])
    assert not torch.allclose(flat, result.weights), "segment ids must change the attention"


def test_checkpoint_without_pretraining_heads(tmp_path_factory):
    from transformers import BertModel

    folder = build_random_model(tmp_path_factory.mktemp("base") / "bert-base-heads", size="tiny", head="base")
    base = load_model(Settings(model=str(folder), device="cpu", dtype="float32"))
    assert not base.info.has_mlm
    text = "A checkpoint with no MLM head [MASK] still has attention."
    expected, _ = reference_attentions(folder, base, text, model_class=BertModel)
    torch.testing.assert_close(extract(base, text).weights, expected)


def test_over_512_tokens_is_truncated_and_says_so(lm):
    text = synthetic_text(lm, 600)
    result = extract(lm, text)
    assert result.n_tokens == 512
    assert result.full_length == 600
    assert result.truncated
    assert result.tokens[-1] == "[SEP]"
    assert not extract(lm, synthetic_text(lm, 40)).truncated


@pytest.mark.parametrize("text,pair,fragment", [
    ("", None, "text is empty"),
    ("   \n ", None, "text is empty"),
    ("A sentence.", "", "second sentence (B) is empty"),
    ("", "B only.", "first sentence (A) is empty"),
    ("", "  ", "Both sentences are empty"),
])
def test_empty_inputs_are_refused(lm, text, pair, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        extract(lm, text, pair)


def known_patterns(t: int = 5) -> dict[str, torch.Tensor]:
    on_cls = torch.zeros(t, t)
    on_cls[:, 0] = 1
    previous = torch.zeros(t, t)
    previous[0, 0] = 1
    previous[torch.arange(1, t), torch.arange(0, t - 1)] = 1
    following = torch.zeros(t, t)
    following[-1, -1] = 1
    following[torch.arange(0, t - 1), torch.arange(1, t)] = 1
    return {"cls": on_cls, "identity": torch.eye(t), "uniform": torch.full((t, t), 1 / t),
            "previous": previous, "next": following}


def test_statistics_on_hand_built_matrices():
    p = known_patterns()
    weights = torch.stack([torch.stack([p["cls"], p["identity"]]), torch.stack([p["uniform"], p["previous"]])])
    stats = head_statistics(weights, TOKENS)
    value = {name: stats.get(name) for name in STATISTICS}
    # layer 0 head 0: everything on [CLS]
    assert value["cls"][0, 0] == pytest.approx(1.0)
    assert value["sep"][0, 0] == pytest.approx(0.0)
    assert value["entropy"][0, 0] == pytest.approx(0.0)
    assert value["self"][0, 0] == pytest.approx(1 / 5)  # only [CLS] itself
    assert value["previous"][0, 0] == pytest.approx(1 / 4)  # only query 1 has [CLS] as previous token
    assert value["next"][0, 0] == pytest.approx(0.0)
    assert value["punctuation"][0, 0] == pytest.approx(0.0)
    # layer 0 head 1: each token on itself
    assert value["self"][0, 1] == pytest.approx(1.0)
    assert value["entropy"][0, 1] == pytest.approx(0.0)
    assert value["cls"][0, 1] == value["sep"][0, 1] == value["punctuation"][0, 1] == pytest.approx(1 / 5)
    assert value["previous"][0, 1] == value["next"][0, 1] == pytest.approx(0.0)
    # layer 1 head 0: uniform
    assert value["entropy"][1, 0] == pytest.approx(math.log(5))
    for name in ("cls", "sep", "self", "previous", "next", "punctuation"):
        assert value[name][1, 0] == pytest.approx(1 / 5)
    # layer 1 head 1: the previous token
    assert value["previous"][1, 1] == pytest.approx(1.0)
    assert value["next"][1, 1] == pytest.approx(0.0)
    assert value["self"][1, 1] == pytest.approx(1 / 5)
    assert value["punctuation"][1, 1] == pytest.approx(1 / 5)  # query "b" looks at ","


def test_next_token_and_two_separators():
    tokens = ["[CLS]", "x", "[SEP]", "y", ".", "[SEP]"]
    stats = head_statistics(known_patterns(6)["next"][None, None], tokens)
    assert stats.get("next")[0, 0] == pytest.approx(1.0)
    assert stats.get("previous")[0, 0] == pytest.approx(0.0)
    # queries 1 and 4 look at a [SEP], the last [SEP] at itself: 3 of 6
    assert stats.get("sep")[0, 0] == pytest.approx(3 / 6)
    assert stats.get("punctuation")[0, 0] == pytest.approx(1 / 6)


def reference_statistics(weights: torch.Tensor, tokens: list[str]) -> dict[str, list[list[float]]]:
    """Clark et al.'s statistics written as plain loops, to check the vectorised version."""
    t = len(tokens)
    out = {name: [] for name in STATISTICS}
    for layer in weights.tolist():
        rows = {name: [] for name in STATISTICS}
        for head in layer:
            rows["entropy"].append(sum(-sum(p * math.log(p) for p in row if p > 0) for row in head) / t)
            for name, cls in (("cls", "[CLS]"), ("sep", "[SEP]")):
                rows[name].append(sum(row[j] for row in head for j in range(t) if tokens[j] == cls) / t)
            rows["punctuation"].append(
                sum(row[j] for row in head for j in range(t) if tokens[j] in {",", ".", "!", "?"}) / t)
            rows["self"].append(sum(head[i][i] for i in range(t)) / t)
            rows["previous"].append(sum(head[i][i - 1] for i in range(1, t)) / (t - 1))
            rows["next"].append(sum(head[i][i + 1] for i in range(t - 1)) / (t - 1))
        for name in STATISTICS:
            out[name].append(rows[name])
    return out


def test_statistics_match_a_loop_reference_on_a_real_extraction(lm):
    result = extract(lm, "Well, it rained. Then, it stopped!", "Did it?")
    stats = head_statistics(result.weights, result.tokens)
    expected = reference_statistics(result.weights, result.tokens)
    for name in STATISTICS:
        torch.testing.assert_close(stats.get(name), torch.tensor(expected[name]), atol=1e-5, rtol=1e-5)


def test_statistics_csv_and_rows():
    weights = torch.stack([torch.stack([known_patterns()["uniform"]] * 3)] * 2)
    stats = head_statistics(weights, TOKENS)
    rows = stats.rows()
    assert [(r["layer"], r["head"]) for r in rows] == [(l, h) for l in (1, 2) for h in (1, 2, 3)]
    lines = stats.to_csv().splitlines()
    assert lines[0] == "layer,head," + ",".join(STATISTICS)
    assert len(lines) == 7
    assert lines[1].startswith("1,1,1.609438,0.200000")
    marked = stats.to_csv({"model": "=HYPERLINK(1)", "random_weights": "true"}).splitlines()
    assert marked[0].startswith("model,random_weights,layer,head,entropy")
    assert marked[1].startswith("'=HYPERLINK(1),true,1,1,1.609438")


def test_statistics_refuse_mismatched_shapes():
    with pytest.raises(ValueError):
        head_statistics(torch.ones(1, 1, 3, 3) / 3, TOKENS)


def test_punctuation_tokens():
    assert all(is_punctuation(t) for t in [".", ",", "!", "##.", "(", "'", "-", "$"])
    assert not any(is_punctuation(t) for t in ["a", "##s", "3", "", "##"])


def test_means_and_mask_attention(lm):
    result = extract(lm, "The cat sat on the [MASK] .")
    position = result.tokens.index("[MASK]")
    torch.testing.assert_close(mean_over_heads(result.weights, 1), result.weights[1].mean(0))
    torch.testing.assert_close(mean_over_heads(result.weights), result.weights.mean((0, 1)))
    by_layer = mask_attention(result, position)
    assert by_layer.shape == (lm.info.layers, result.n_tokens)
    torch.testing.assert_close(by_layer[0], result.weights[0, :, position].mean(0))
    with pytest.raises(InputError):
        mask_attention(result, result.n_tokens)


def test_synthetic_text_has_exact_length(lm):
    for n in (3, 32, 129, 512):
        assert len(lm.tokenizer(synthetic_text(lm, n))["input_ids"]) == n


def test_cli_summary_json(tiny_model_dir, lm, capsys):
    code = main(["attention", "Hello, world.", "--pair", "Bye.", "--summary", "--json",
                 "--model", str(tiny_model_dir), "--device", "cpu"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tokens"][0] == "[CLS]" and data["tokens"].count("[SEP]") == 2
    assert len(data["statistics"]) == lm.info.layers * lm.info.heads
    expected = head_statistics(extract(lm, "Hello, world.", "Bye.").weights, data["tokens"])
    assert data["statistics"][5]["entropy"] == pytest.approx(float(expected.get("entropy").flatten()[5]))


def test_cli_summary_table_and_errors(tiny_model_dir, lm, capsys):
    assert main(["attention", "Hi there.", "--summary", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "entropy" in out and len(out.strip().splitlines()) == 3 + lm.info.layers * lm.info.heads
    assert main(["attention", "  ", "--model", str(tiny_model_dir)]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["attention", "A.", "--pair", "", "--model", str(tiny_model_dir)]) == 2


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_query_key_reproduces_the_models_own_attention(lm, dtype):
    """The Q/K view recomputes one head's row from the layer's input; with int8 Linear layers (whose activation
    scale depends on every row projected) it must still give the weights the model's own run gave."""
    from bertlens.analysis import analyse
    from bertlens.attention import query_key
    from bertlens.model import quantize_int8

    model = lm if dtype == "float32" else quantize_int8(lm)
    analysis = analyse(model, "The nurse said that [MASK] would be late.", hidden_states=True, attentions=True)
    for layer, head, position in ((0, 0, 0), (1, 2, 3), (model.info.layers - 1, 1, analysis.n_tokens - 1)):
        qk = query_key(model, analysis, layer, head, position)
        torch.testing.assert_close(qk.weights, analysis.attentions[layer][head][position].float())
        torch.testing.assert_close(qk.products.sum(-1) / qk.query.numel() ** 0.5, qk.scores)
