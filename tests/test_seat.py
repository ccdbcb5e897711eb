"""SEAT against a transcription of bias-bench's code (McGill-NLP/bias-bench at 291426a,
`bias_bench/benchmark/seat/weat.py` and `_encode` in `seat.py`): the same effect sizes on the six shipped gender
tests on a random model, the same exact p-values, and sampled p-values within sampling error."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import scipy.special
import torch

from bertlens.bias import seat
from bertlens.bias.seat_templates import SEAT_DIR, shipped_files
from bertlens.errors import InputError


# ---- transcription of bias-bench (np.int, removed from numpy, is int; prints dropped) -----------------------------

def bb_encode(model, tokenizer, texts):
    encs = {}
    for text in texts:
        inputs = tokenizer(text, return_tensors="pt")
        outputs = model(**inputs)
        enc = outputs["last_hidden_state"]
        enc = enc.mean(dim=1)
        encs[text] = enc.detach().view(-1).numpy()
        encs[text] /= np.linalg.norm(encs[text])
    return encs


def bb_cossim(x, y):
    return np.dot(x, y) / math.sqrt(np.dot(x, x) * np.dot(y, y))


def bb_construct_cossim_lookup(XY, AB):
    cossims = np.zeros((len(XY), len(AB)))
    for xy in XY:
        for ab in AB:
            cossims[xy, ab] = bb_cossim(XY[xy], AB[ab])
    return cossims


def bb_s_wAB(A, B, cossims):
    return cossims[:, A].mean(axis=1) - cossims[:, B].mean(axis=1)


def bb_s_XAB(X, s_wAB_memo):
    return s_wAB_memo[X].sum()


def bb_p_val_permutation_test(X, Y, A, B, n_samples, cossims):
    X = np.array(list(X), dtype=int)
    Y = np.array(list(Y), dtype=int)
    A = np.array(list(A), dtype=int)
    B = np.array(list(B), dtype=int)
    assert len(X) == len(Y)
    size = len(X)
    s_wAB_memo = bb_s_wAB(A, B, cossims=cossims)
    XY = np.concatenate((X, Y))
    s = bb_s_XAB(X, s_wAB_memo)
    total_true = 0
    total_equal = 0
    total = 0
    num_partitions = int(scipy.special.binom(2 * len(X), len(X)))
    if num_partitions > n_samples:
        total_true += 1
        total += 1
        for _ in range(n_samples - 1):
            np.random.shuffle(XY)
            Xi = XY[:size]
            si = bb_s_XAB(Xi, s_wAB_memo)
            if si > s:
                total_true += 1
            elif si == s:
                total_true += 1
                total_equal += 1
            total += 1
    else:
        for Xi in itertools.combinations(XY, len(X)):
            Xi = np.array(Xi, dtype=int)
            si = bb_s_XAB(Xi, s_wAB_memo)
            if si > s:
                total_true += 1
            elif si == s:
                total_true += 1
                total_equal += 1
            total += 1
    return total_true / total


def bb_effect_size(X, Y, A, B, cossims):
    X, Y, A, B = list(X), list(Y), list(A), list(B)
    numerator = np.mean(bb_s_wAB(A, B, cossims[X])) - np.mean(bb_s_wAB(A, B, cossims[Y]))
    denominator = np.std(bb_s_wAB(A, B, cossims[X + Y]), ddof=1)
    return numerator / denominator


def bb_convert_keys_to_ints(X, Y):
    return (dict((i, v) for (i, (k, v)) in enumerate(X.items())),
            dict((i + len(X), v) for (i, (k, v)) in enumerate(Y.items())))


def bb_run_test(encs, n_samples):
    X, Y = encs["targ1"]["encs"], encs["targ2"]["encs"]
    A, B = encs["attr1"]["encs"], encs["attr2"]["encs"]
    (X, Y) = bb_convert_keys_to_ints(X, Y)
    (A, B) = bb_convert_keys_to_ints(A, B)
    XY = X.copy()
    XY.update(Y)
    AB = A.copy()
    AB.update(B)
    cossims = bb_construct_cossim_lookup(XY, AB)
    pval = bb_p_val_permutation_test(X, Y, A, B, n_samples, cossims=cossims)
    esize = bb_effect_size(X, Y, A, B, cossims=cossims)
    return esize, pval


_ENCODED: dict[str, np.ndarray] = {}


def bias_bench(lm, path, n_samples):
    """bias-bench's run of one test file; each sentence is encoded by its `_encode` once for all tests."""
    encs = json.load(open(path))
    with torch.no_grad():
        for key in ("targ1", "targ2", "attr1", "attr2"):
            examples = encs[key]["examples"]
            missing = [text for text in examples if text not in _ENCODED]
            _ENCODED.update(bb_encode(lm.model.bert, lm.tokenizer, missing))
            encs[key]["encs"] = {text: _ENCODED[text] for text in examples}
    np.random.seed(0)
    return bb_run_test(encs, n_samples)


# ---- tests --------------------------------------------------------------------------------------------------------

SAMPLES = 3000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def gender_results(lm):
    return seat.run(lm, seat.shipped_tests(), n_samples=SAMPLES)


@pytest.mark.parametrize("name", seat.GENDER_TESTS)
def test_effect_sizes_equal_bias_bench_on_the_six_gender_tests(lm, gender_results, name):
    ours = next(r for r in gender_results if r.test == name)
    effect, p = bias_bench(lm, SEAT_DIR / f"{name}.jsonl", SAMPLES)
    assert abs(effect) > 1e-3
    assert ours.effect_size == pytest.approx(effect, rel=1e-4, abs=1e-6)
    assert not ours.exact and ours.permutations == SAMPLES
    # sampled p-values: two seeded runs of 3,000 samples, 5 standard deviations apart at most
    assert abs(ours.p_value - p) <= 5 * math.sqrt(0.25 / SAMPLES) * math.sqrt(2)


def test_exact_p_values_equal_bias_bench_on_the_word_level_tests(lm):
    for name in ("weat6", "weat8b"):
        [test] = seat.read_word_sets(SEAT_DIR / f"{name}.jsonl")
        ours = seat.run_test(lm, test)
        effect, p = bias_bench(lm, SEAT_DIR / f"{name}.jsonl", seat.N_SAMPLES)
        assert ours.exact and ours.permutations == math.comb(16, 8)
        assert ours.p_value == p
        assert ours.effect_size == pytest.approx(effect, rel=1e-4)


def test_permutation_test_counts_ties_and_unequal_sets():
    s_x, s_y = np.array([1.0, 1.0]), np.array([1.0, 1.0, 0.0])
    p, exact, count = seat.p_value(s_x, s_y)
    # partitions of 5 into 2 + 3 whose pair sums to at least 2: the 6 pairs of the four ones (ties count)
    assert (p, exact, count) == (6 / 10, True, 10)
    assert seat.effect_size(s_x, s_y) == pytest.approx((1.0 - 2 / 3) / np.std([1, 1, 1, 1, 0], ddof=1))


def test_shipped_files_are_what_the_generator_writes():
    for file_name, text in shipped_files().items():
        assert (SEAT_DIR / file_name).read_text(encoding="utf-8") == text
    sizes = {t.name: t.sizes for t in seat.shipped_tests()}
    assert sizes["sent-weat6"] == {"targ1": 64, "targ2": 64, "attr1": 101, "attr2": 112}
    assert all(s["targ1"] == s["targ2"] for s in sizes.values())


def test_json_lines_and_duplicates(tmp_path):
    one = {key: {"category": key.upper(), "examples": ["a b", "c d", "c d"]} for key in seat.SETS}
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(one) + "\n\n" + json.dumps(one) + "\n")
    tests = seat.read_word_sets(path)
    assert [t.name for t in tests] == ["two", "two#2"]
    assert tests[0].targ1.examples == ("a b", "c d")


@pytest.mark.parametrize("text, fragment", [
    ('{"targ1": {"examples": ["a", "b"]}, "targ2": {"examples": ["c", "d"]}, "attr1": {"examples": ["e"]}}',
     "lacks the set 'attr2'"),
    ('{"targ1": {"examples": []}}', "the set 'targ1' needs a non-empty list"),
    ('[1, 2]', "is not a SEAT test"),
    ('{"targ1": ', "neither one JSON object nor JSON lines"),
    ('', "is empty"),
])
def test_bad_word_set_files_give_one_line(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        seat.read_word_sets(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_seat_command_prints_the_core_results(lm, tiny_model_dir, capsys):
    from bertlens.cli import main

    code = main(["seat", str(SEAT_DIR / "weat6.jsonl"), str(SEAT_DIR / "weat7.jsonl"), "--model", str(tiny_model_dir),
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["transform"] == "intact"
    core = seat.run(lm, seat.read_word_sets(SEAT_DIR / "weat6.jsonl") + seat.read_word_sets(SEAT_DIR / "weat7.jsonl"))
    assert [(t["test"], t["effect_size"], t["p_value"], t["sizes"]) for t in out["tests"]] == \
        [(r.test, r.effect_size, r.p_value, r.sizes) for r in core]
    code = main(["seat", str(SEAT_DIR / "weat6.jsonl"), "--model", str(tiny_model_dir)])
    text = capsys.readouterr().out
    assert code == 0 and "weat6" in text and "mean |effect size|" in text


def test_seat_command_names_a_missing_set(tmp_path, tiny_model_dir, capsys):
    from bertlens.cli import main

    path = tmp_path / "three.jsonl"
    path.write_text(json.dumps({key: {"category": key, "examples": ["a", "b"]} for key in seat.SETS[:3]}))
    assert main(["seat", str(path), "--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert "lacks the set 'attr2'" in err and one_error(err)


def one_error(err: str) -> bool:
    """One line of error (beside the random-weights warning), no traceback."""
    lines = [line for line in err.splitlines() if not line.startswith("warning: this model has RANDOM weights")]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_the_word_sets_kind_and_the_seat_metric_are_registered(lm, tiny_model_dir, tmp_path):
    from bertlens import kinds, registry
    from bertlens.bias import audit
    from bertlens.registry import Context

    kind = kinds.get("word_sets")
    method = registry.get("metric", "seat")
    assert method.data == "word_sets" and "seat" in registry.names("metric", "word_sets")
    assert kind.parse({"word_sets": None}) == tuple(seat.shipped_tests())
    with pytest.raises(InputError, match="lacks the set 'attr2'"):
        kind.parse({"word_sets": json.dumps({k: {"examples": ["a", "b"]} for k in seat.SETS[:3]})})
    tests = kind.parse(kind.sample(), {"source": "'mine.json'"})
    assert [t.name for t in tests] == ["mine"]
    result = method.run(lm, tests, method.spec.validate({"samples": 500}), Context())
    [expected] = seat.run(lm, tests, n_samples=500)
    assert result.value == abs(expected.effect_size) and result.n == 1
    assert result.decisions[0].score == expected.effect_size

    (tmp_path / "ws.json").write_text(kind.sample()["word_sets"])
    config = audit.parse_config(json.dumps({"bertlens_audit": audit.FORMAT, "models": [str(tiny_model_dir)],
                                            "metrics": [{"name": "seat", "options": {"samples": 500}}],
                                            "word_sets": {"path": "ws.json"}}), tmp_path)
    row = audit.audit_checkpoint(config.as_dict(), str(tiny_model_dir))
    assert row["status"] == "ok", row
    assert row["scores"]["seat: |effect size|"] == pytest.approx(abs(expected.effect_size), abs=1e-6)
