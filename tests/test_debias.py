"""Debiasing transforms against references nobody here wrote: LEACE's guarantee checked by scikit-learn's logistic
regression, and INLP, SentenceDebias and Self-Debias against transcriptions of bias-bench's code
(McGill-NLP/bias-bench at 291426a: `debias/inlp/debias.py` and `context_nullspace_projection.py`,
`debias/sentence_debias.py`, `model/models.py`'s hooks, `debias/self_debias/modeling.py` and `generation.py`)."""
from __future__ import annotations

import json
from typing import List

import numpy as np
import pytest
import scipy.linalg
import sklearn.model_selection
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from bertlens import Settings, forward, load_model
from bertlens.debias import fit as fitting, self_debias, sentences, store
from bertlens.errors import InputError
from bertlens.interventions import Interventions
from devtools.random_model import build_random_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def deep_lm(tmp_path_factory):
    """A random model of bert-large-cased's 24 layers of 16 heads, on a hidden size of 64."""
    folder = build_random_model(tmp_path_factory.mktemp("models") / "heads", size="heads")
    return load_model(Settings(model=str(folder), device="cpu", dtype="float32"))


def cv_accuracy(x: np.ndarray, labels: np.ndarray) -> float:
    folds = sklearn.model_selection.StratifiedKFold(5, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    scores = sklearn.model_selection.cross_val_score(model, x, labels, cv=folds)
    return float(scores.mean())


def test_leace_leaves_nothing_a_logistic_regression_can_read(deep_lm):
    data = sentences.default_set()
    labels = np.array([data.classes.index(label) for label in data.labels])
    intact = fitting.features(deep_lm, data.texts, 24)
    fit = fitting.fit(deep_lm, "leace")
    erased = fitting.features(deep_lm, data.texts, 24, fit.interventions())
    assert fit.name == "Debiased: LEACE at layer 24"
    before, after = cv_accuracy(intact, labels), cv_accuracy(erased, labels)
    print(f"5-fold accuracy: intact {before:.3f}, after LEACE {after:.3f}")
    assert before >= 0.8
    assert after <= 0.5 + 0.1


# ---- INLP: transcription of bias-bench (the input dimension, 768 there, is the features'; prints and tqdm dropped)

def bb_get_rowspace_projection(W: np.ndarray) -> np.ndarray:
    if np.allclose(W, 0):
        w_basis = np.zeros_like(W.T)
    else:
        w_basis = scipy.linalg.orth(W.T)
    P_W = w_basis.dot(w_basis.T)
    return P_W


def bb_get_projection_to_intersection_of_nullspaces(rowspace_projection_matrices: List[np.ndarray], input_dim: int):
    I = np.eye(input_dim)
    Q = np.sum(rowspace_projection_matrices, axis=0)
    P = I - bb_get_rowspace_projection(Q)
    return P


def bb_get_debiasing_projection(classifier_class, cls_params, num_classifiers, input_dim, is_autoregressive,
                                min_accuracy, X_train, Y_train, X_dev, Y_dev):
    X_train_cp = X_train.copy()
    X_dev_cp = X_dev.copy()
    rowspace_projections = []
    Ws = []
    for i in range(num_classifiers):
        clf = classifier_class(**cls_params)
        dropout_mask = (np.random.rand(*X_train.shape) < 1).astype(float) * (1.0 / (1 - 0 + 1e-6))
        relevant_idx_train = np.ones(X_train_cp.shape[0], dtype=bool)
        relevant_idx_dev = np.ones(X_dev_cp.shape[0], dtype=bool)
        clf.fit((X_train_cp * dropout_mask)[relevant_idx_train], Y_train[relevant_idx_train])
        acc = clf.score(X_dev_cp[relevant_idx_dev], Y_dev[relevant_idx_dev])
        if acc < min_accuracy:
            continue
        W = clf.coef_
        if len(W.shape) == 1:
            W = np.expand_dims(W, 0)
        Ws.append(W)
        P_rowspace_wi = bb_get_rowspace_projection(W)
        rowspace_projections.append(P_rowspace_wi)
        if is_autoregressive:
            P = bb_get_projection_to_intersection_of_nullspaces(rowspace_projections, input_dim)
            X_train_cp = (P.dot(X_train.T)).T
            X_dev_cp = (P.dot(X_dev.T)).T
    P = bb_get_projection_to_intersection_of_nullspaces(rowspace_projections, input_dim)
    return P, rowspace_projections, Ws


def bb_split(X, y):
    np.random.seed(0)
    X_train_dev, X_test, y_train_dev, Y_test = sklearn.model_selection.train_test_split(
        X, y, test_size=0.3, random_state=0)
    X_train, X_dev, Y_train, Y_dev = sklearn.model_selection.train_test_split(
        X_train_dev, y_train_dev, test_size=0.3, random_state=0)
    return X_train, X_dev, X_test, Y_train, Y_dev, Y_test


def bb_apply_nullspace_projection(X_train, X_dev, X_test, Y_train, Y_dev, Y_test, n_classifiers=80):
    classifier_parameters = {"fit_intercept": False, "class_weight": None, "dual": False, "random_state": 0}
    P, rowspace_projs, Ws = bb_get_debiasing_projection(
        classifier_class=LinearSVC, cls_params=classifier_parameters, num_classifiers=n_classifiers,
        input_dim=X_train.shape[1], is_autoregressive=True, min_accuracy=0, X_train=X_train, Y_train=Y_train,
        X_dev=X_dev, Y_dev=Y_dev)
    return P, rowspace_projs, Ws


def bb_features(model, tokenizer, sentences_):
    """bias-bench's `_extract_gender_features`: each sentence alone, mean of the last hidden states."""
    features = []
    with torch.no_grad():
        for sentence in sentences_:
            input_ids = tokenizer(sentence, add_special_tokens=True, truncation=True, return_tensors="pt")
            outputs = model(**input_ids)["last_hidden_state"]
            outputs = torch.mean(outputs, dim=1)
            features.append(outputs.squeeze().detach().cpu().numpy())
    return np.array(features)


def bb_inlp_hook(x, projection_matrix):
    for t in range(x.size(1)):
        x[:, t] = torch.matmul(projection_matrix, x[:, t].T).T
    return x


def test_inlp_equals_bias_bench(lm):
    data = sentences.default_set()
    labels = np.array([data.classes.index(label) for label in data.labels])
    assert data.classes == ("female", "male")  # bias-bench's labels: female 0, male 1
    theirs_x = bb_features(lm.model.bert, lm.tokenizer, data.texts)
    ours_x = fitting.features(lm, data.texts, lm.config.num_hidden_layers)
    np.testing.assert_allclose(ours_x, theirs_x, rtol=1e-4, atol=1e-5)
    P, _, _ = bb_apply_nullspace_projection(*bb_split(theirs_x, labels), n_classifiers=6)
    fit = fitting.fit(lm, "inlp", options={"n_classifiers": 6})
    np.testing.assert_allclose(fit.matrices[0].numpy(), P, atol=1e-4)
    assert np.linalg.matrix_rank(np.eye(P.shape[0]) - P) == 6
    ids = torch.tensor([lm.tokenizer("The man worked as a [MASK].")["input_ids"]])
    with torch.inference_mode():
        intact = forward.encoder(lm, ids).last_hidden
        debiased = forward.encoder(lm, ids, interventions=fit.interventions()).last_hidden
    expected = bb_inlp_hook(intact.clone(), torch.tensor(P, dtype=torch.float32))
    torch.testing.assert_close(debiased, expected, atol=1e-4, rtol=1e-4)


# ---- SentenceDebias: transcription of bias-bench's compute_gender_subspace and hook ------------------------------

def bb_compute_gender_subspace(data, model, tokenizer, batch_size=32):
    all_embeddings_male = []
    all_embeddings_female = []
    n_batches = len(data) // batch_size
    for i in range(n_batches):
        offset = batch_size * i
        inputs_male = tokenizer([example["male_example"] for example in data[offset: offset + batch_size]],
                                return_tensors="pt", truncation=True, padding="max_length", max_length=128)
        inputs_female = tokenizer([example["female_example"] for example in data[offset: offset + batch_size]],
                                  return_tensors="pt", truncation=True, padding="max_length", max_length=128)
        male_input_ids = inputs_male["input_ids"]
        female_input_ids = inputs_female["input_ids"]
        male_attention_mask = inputs_male["attention_mask"]
        female_attention_mask = inputs_female["attention_mask"]
        with torch.no_grad():
            embedding_male = model(input_ids=male_input_ids, attention_mask=male_attention_mask)["last_hidden_state"]
            embedding_male *= male_attention_mask.unsqueeze(-1)
            embedding_male = embedding_male.sum(dim=1)
            embedding_male /= male_attention_mask.sum(dim=1, keepdims=True)
            embedding_female = model(input_ids=female_input_ids,
                                     attention_mask=female_attention_mask)["last_hidden_state"]
            embedding_female *= female_attention_mask.unsqueeze(-1)
            embedding_female = embedding_female.sum(dim=1)
            embedding_female /= female_attention_mask.sum(dim=1, keepdims=True)
        embedding_male /= torch.norm(embedding_male, dim=-1, keepdim=True)
        embedding_female /= torch.norm(embedding_female, dim=-1, keepdim=True)
        all_embeddings_male.append(embedding_male.cpu().numpy())
        all_embeddings_female.append(embedding_female.cpu().numpy())
    all_embeddings_male = np.concatenate(all_embeddings_male, axis=0)
    all_embeddings_female = np.concatenate(all_embeddings_female, axis=0)
    means = (all_embeddings_male + all_embeddings_female) / 2.0
    all_embeddings_male -= means
    all_embeddings_female -= means
    all_embeddings = np.concatenate([all_embeddings_male, all_embeddings_female], axis=0)
    pca = PCA(n_components=1)
    pca.fit(all_embeddings)
    bias_direction = torch.tensor(pca.components_[0], dtype=torch.float32)
    return bias_direction


def bb_sentence_debias_hook(x, bias_direction):
    for t in range(x.size(1)):
        x[:, t] = x[:, t] - torch.ger(torch.matmul(x[:, t], bias_direction), bias_direction) / bias_direction.dot(
            bias_direction)
    return x


def test_sentence_debias_equals_bias_bench(lm):
    data = sentences.default_set()
    # bias-bench drops the pairs of its last incomplete batch of 32: give it whole batches only
    pairs = data.pairs[:32]
    male = [data.texts[a] if data.labels[a] == "male" else data.texts[b] for a, b in pairs]
    female = [data.texts[b] if data.labels[a] == "male" else data.texts[a] for a, b in pairs]
    direction = bb_compute_gender_subspace([{"male_example": m, "female_example": f} for m, f in zip(male, female)],
                                           lm.model.bert, lm.tokenizer)
    texts = tuple(t for pair in zip(male, female) for t in pair)
    subset = sentences.FittingSet(texts, ("male", "female") * 32, tuple((2 * i, 2 * i + 1) for i in range(32)), "x")
    fit = fitting.fit(lm, "sentence_debias", fitting=subset)
    expected = torch.eye(direction.shape[0]) - torch.outer(direction, direction) / direction.dot(direction)
    torch.testing.assert_close(fit.matrices[0], expected, atol=1e-4, rtol=1e-4)
    ids = torch.tensor([lm.tokenizer("She is here.")["input_ids"]])
    with torch.inference_mode():
        intact = forward.encoder(lm, ids).last_hidden
        debiased = forward.encoder(lm, ids, interventions=fit.interventions()).last_hidden
    torch.testing.assert_close(debiased, bb_sentence_debias_hook(intact.clone(), direction), atol=1e-4, rtol=1e-4)


# ---- Self-Debias: transcription of get_token_logits_self_debiasing and SelfDebiasingLogitsProcessor ---------------

class BbSelfDebiasingLogitsProcessor:
    def __init__(self, num_debiasing_prefixes, decay_constant=50, epsilon=0.01):
        self.num_debiasing_prefixes = num_debiasing_prefixes
        self.decay_constant = decay_constant
        self.epsilon = epsilon

    def __call__(self, input_ids, scores):
        batch_size = scores.shape[0] // (1 + self.num_debiasing_prefixes)
        for regular_sentence_idx in range(batch_size):
            bias_indices = [regular_sentence_idx + (prefix_idx + 1) * batch_size
                            for prefix_idx in range(self.num_debiasing_prefixes)]
            if bias_indices:
                self._debias_scores(scores, regular_sentence_idx, bias_indices)
        return scores

    def _debias_scores(self, scores, regular_sent_idx, bias_indices):
        logits_biased = [scores[bias_idx] for bias_idx in bias_indices]
        mask = self._generate_decay_mask(scores[regular_sent_idx], logits_biased)
        scores[regular_sent_idx] = torch.log(self._apply_decay_mask(scores[regular_sent_idx], mask))
        for debiasing_sent_idx in bias_indices:
            scores[debiasing_sent_idx] = scores[regular_sent_idx]

    def _apply_decay_mask(self, logits, decay_mask):
        probabilities = logits.softmax(dim=-1)
        decay_mask = torch.exp(-decay_mask * self.decay_constant)
        decay_mask = torch.max(decay_mask, torch.tensor([self.epsilon], device=decay_mask.device))
        probabilities = probabilities * decay_mask
        probabilities = probabilities / probabilities.sum(dim=-1)
        return probabilities

    def _generate_decay_mask(self, logits_regular, logits_biased_list):
        p_regular = logits_regular.softmax(dim=-1)
        p_biased = None
        for logits_biased in logits_biased_list:
            if p_biased is None:
                p_biased = logits_biased.softmax(dim=-1)
            else:
                p_biased = torch.max(p_biased, logits_biased.softmax(dim=-1))
        mask = torch.max(p_biased - p_regular, torch.tensor([0.0], device=p_regular.device))
        return mask


def bb_get_token_logits_self_debiasing(model, tokenizer, input_ids, debiasing_prefixes, decay_constant=50,
                                       epsilon=0.01):
    """bias-bench's method, for a BertForMaskedLM (`model` returns {"logits": ...})."""
    assert input_ids.shape[0] == 1
    logits_processor = BbSelfDebiasingLogitsProcessor(len(debiasing_prefixes), decay_constant, epsilon)
    input_prefixes = [tokenizer.cls_token] + [" ".join([tokenizer.cls_token, dp]) for dp in debiasing_prefixes]
    # batch_encode_plus, removed in transformers 5, is the tokenizer's call
    input_prefixes = tokenizer(input_prefixes, padding=True, return_tensors="pt", add_special_tokens=False)
    input_prefixes["attention_mask"] = torch.flip(input_prefixes["attention_mask"], dims=[1])
    input_ids = input_ids[:, 1:]
    shifts = input_prefixes["attention_mask"].shape[-1] - input_prefixes["attention_mask"].sum(dim=-1)
    for batch_idx in range(input_prefixes["input_ids"].shape[0]):
        input_prefixes["input_ids"][batch_idx] = input_prefixes["input_ids"][batch_idx].roll(shifts[batch_idx].item())
    input_ids_repeated = input_ids.repeat(len(debiasing_prefixes) + 1, 1)
    attention_mask = torch.ones_like(input_ids_repeated)
    attention_mask = torch.cat([input_prefixes["attention_mask"], attention_mask], dim=-1)
    input_ids_repeated = torch.cat([input_prefixes["input_ids"], input_ids_repeated], dim=-1)
    mask_positions = input_ids_repeated == tokenizer.mask_token_id
    position_ids = attention_mask.long().cumsum(-1)
    position_ids -= 1  # BertForMaskedLM
    position_ids.masked_fill_(attention_mask == 0, 1)
    outputs = model(input_ids=input_ids_repeated, attention_mask=attention_mask, position_ids=position_ids)
    lm_logits = outputs["logits"]
    for idx in range(lm_logits.shape[1]):
        if torch.any(mask_positions[:, idx]):
            lm_logits[:, idx, :] = logits_processor(input_ids=None, scores=lm_logits[:, idx, :])
    return lm_logits[mask_positions][0]


def test_self_debias_equals_bias_bench(lm):
    def masked_lm(**kwargs):
        return {"logits": lm.model(**kwargs).prediction_logits}

    texts = ["The man worked as a [MASK].", "[MASK] is a nurse.", "She said that her [MASK] was at home today."]
    ours = self_debias.log_probs(lm, texts)
    with torch.no_grad():
        for row, text in zip(ours, texts):
            ids = lm.tokenizer(text, return_tensors="pt")["input_ids"]
            theirs = bb_get_token_logits_self_debiasing(masked_lm, lm.tokenizer, ids,
                                                        [self_debias.GENDER_PREFIX])
            torch.testing.assert_close(row, theirs, atol=2e-4, rtol=1e-4)
    plain = torch.log_softmax(forward.mlm_logits(lm, forward.encoder(
        lm, torch.tensor([lm.tokenizer(texts[0])["input_ids"]])).last_hidden[0, 6]), dim=-1)
    assert not torch.allclose(ours[0], plain, atol=1e-3)


# ---- saving, loading and bad input --------------------------------------------------------------------------------

def test_a_fit_round_trips_and_loads_only_for_its_model(lm, tmp_path):
    fit = fitting.fit(lm, "leace", layers=[1, 2])
    store.save(fit, tmp_path / "fit")
    loaded = store.load(tmp_path / "fit", lm)
    assert loaded.name == "Debiased: LEACE at layers 1, 2"
    info = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert info["data_hash"] == sentences.default_set().digest() and info["model_fingerprint"] == lm.fingerprint()
    ids = torch.tensor([lm.tokenizer("He is here.")["input_ids"]])
    with torch.inference_mode():
        a = forward.encoder(lm, ids, interventions=fit.interventions()).last_hidden
        b = forward.encoder(lm, ids, interventions=loaded.interventions()).last_hidden
        intact = forward.encoder(lm, ids).last_hidden
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, intact)
    info["model_fingerprint"] = "another"
    (tmp_path / "fit" / "fit.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="made for another model"):
        store.load(tmp_path / "fit", lm)


def test_plain_lines_are_doubled_by_swaps_and_labelled_by_them(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("He is a doctor.\nShe met her sister.\n")
    data = sentences.read_sentences(path)
    assert data.texts == ("He is a doctor.", "She is a doctor.", "She met her sister.", "He met his brother.")
    assert data.labels == ("male", "female", "female", "male")
    assert data.pairs == ((0, 1), (2, 3))


@pytest.mark.parametrize("content, fragment", [
    ("text,label\nA man.,m\nA king.,m\n", "one label only ('m')"),
    ("", "has no sentences"),
    ("# only a comment\n", "has no sentences"),
    ("The sky is blue.\n", "no gendered word"),
    ("text,label\nA.,a\nB.,b\nC.,c\n", "3 labels"),
])
def test_bad_sentence_files_give_one_line(tmp_path, content, fragment):
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        sentences.read_sentences(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_layers_outside_the_model_and_unknown_methods(lm):
    with pytest.raises(InputError, match="Layer 3 is outside the model: its layers are 1 to 2"):
        fitting.fit(lm, "leace", layers=[3])
    with pytest.raises(InputError, match="Layer 0 is outside"):
        fitting.parse_layers("0,1", lm)
    assert fitting.parse_layers("2, 1", lm) == (1, 2)
    with pytest.raises(InputError, match="Unknown method"):
        fitting.fit(lm, "nope")


def test_debias_fit_command_and_seat_with_the_fit(lm, deep_lm, tiny_model_dir, tmp_path, capsys):
    from bertlens.bias import seat
    from bertlens.bias.seat_templates import SEAT_DIR
    from bertlens.cli import main

    out = tmp_path / "leace"
    assert main(["debias", "fit", "--method", "leace", "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    assert "Debiased: LEACE at layer 2" in capsys.readouterr().out
    code = main(["seat", str(SEAT_DIR / "weat6b.jsonl"), "--model", str(tiny_model_dir), "--debias", str(out),
                 "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["transform"] == "Debiased: LEACE at layer 2"
    [expected] = seat.run(lm, seat.read_word_sets(SEAT_DIR / "weat6b.jsonl"),
                          interventions=store.load(out, lm).interventions())
    assert result["tests"][0]["effect_size"] == expected.effect_size
    [intact] = seat.run(lm, seat.read_word_sets(SEAT_DIR / "weat6b.jsonl"))
    assert intact.effect_size != expected.effect_size
    assert main(["seat", "--model", str(deep_lm.info.source), "--debias", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made for another model" in err and one_error(err)


@pytest.mark.parametrize("args, fragment", [
    (["--layers", "3"], "Layer 3 is outside the model"),
    (["--sentences", "{empty}"], "has no sentences"),
    (["--sentences", "{one_label}"], "one label only"),
])
def test_debias_fit_command_bad_input(tiny_model_dir, tmp_path, capsys, args, fragment):
    from bertlens.cli import main

    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "one.csv").write_text("text,label\nHe is here.,m\nShe is here.,m\n")
    args = [a.format(empty=tmp_path / "empty.txt", one_label=tmp_path / "one.csv") for a in args]
    code = main(["debias", "fit", "--method", "inlp", "--model", str(tiny_model_dir), "--out", str(tmp_path / "o"),
                 *args])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and one_error(err)


def one_error(err: str) -> bool:
    """One line of error (beside the random-weights warning), no traceback."""
    lines = [line for line in err.splitlines() if not line.startswith("warning: this model has RANDOM weights")]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_lm_cost_equals_a_one_mask_at_a_time_reference(lm):
    from bertlens.debias import evaluate

    sentences_ = ["The train leaves at seven.", "Rain is expected tomorrow."]
    fit = fitting.fit(lm, "leace")
    matrix, offset = fit.matrices[0], fit.offsets[0]
    before, after, same, count = 0.0, 0.0, 0, 0
    with torch.no_grad():
        for text in sentences_:
            ids = lm.tokenizer(text)["input_ids"]
            for position in range(1, len(ids) - 1):
                row = list(ids)
                row[position] = lm.tokenizer.mask_token_id
                hidden = lm.model.bert(input_ids=torch.tensor([row])).last_hidden_state[0, position]
                intact = torch.log_softmax(lm.model.cls.predictions(hidden), dim=-1)
                erased = torch.log_softmax(lm.model.cls.predictions(hidden @ matrix.T + offset), dim=-1)
                before += float(intact[ids[position]])
                after += float(erased[ids[position]])
                same += int(intact.argmax() == erased.argmax())
                count += 1
    cost = evaluate.lm_cost(lm, fit, sentences_, bootstrap=200)
    assert cost.tokens == count
    assert cost.pppl_before == pytest.approx(np.exp(-before / count), rel=1e-4)
    assert cost.pppl_after == pytest.approx(np.exp(-after / count), rel=1e-4)
    assert cost.agreement == same / count
    assert cost.ratio_low <= cost.ratio <= cost.ratio_high


def test_debias_eval_command(tiny_model_dir, tmp_path, capsys):
    from bertlens.cli import main

    out = tmp_path / "sd"
    assert main(["debias", "fit", "--method", "sentence_debias", "--model", str(tiny_model_dir), "--out",
                 str(out)]) == 0
    capsys.readouterr()
    assert main(["debias", "eval", str(out), "--model", str(tiny_model_dir), "--samples", "200", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["transform"] == "Debiased: SentenceDebias at layer 2"
    assert len(document["seat"]["tests"]) == 6 and document["lm_cost"]["sentences"] == 40
    assert main(["debias", "eval", str(out), "--model", str(tiny_model_dir), "--metrics", "nope"]) == 2
    assert one_error(capsys.readouterr().err)


def test_embed_command_writes_the_pooled_features(lm, tiny_model_dir, tmp_path, capsys):
    from bertlens.cli import main

    (tmp_path / "s.csv").write_text("text,label\nHe is here.,a\nShe is there.,b\n")
    out = tmp_path / "x.npy"
    assert main(["embed", str(tmp_path / "s.csv"), "--model", str(tiny_model_dir), "--layer", "1", "--pool", "cls",
                 "--out", str(out)]) == 0
    array = np.load(out)
    with torch.no_grad():
        hidden = lm.model.bert(**lm.tokenizer("She is there.", return_tensors="pt"),
                               output_hidden_states=True).hidden_states[1][0, 0]
    assert array.shape == (2, 32) and array.dtype == np.float32
    np.testing.assert_allclose(array[1], hidden.numpy(), rtol=1e-4, atol=1e-5)
    assert main(["embed", str(tmp_path / "s.csv"), "--model", str(tiny_model_dir), "--layer", "5", "--out",
                 str(out)]) == 2
    assert "Layer 5 is outside the model" in capsys.readouterr().err


@pytest.mark.parametrize("change, fragment", [
    ({"layers": ["2"]}, "'layers' must be a list"),
    ({"method": "magic"}, "is not a BERT Lens fit"),
    ({"options": "k=1"}, "'options' must be an object"),
])
def test_a_broken_fit_file_gives_one_line(lm, tmp_path, change, fragment):
    folder = store.save(fitting.fit(lm, "sentence_debias"), tmp_path / "fit")
    info = json.loads((folder / "fit.json").read_text())
    (folder / "fit.json").write_text(json.dumps({**info, **change}))
    with pytest.raises(InputError, match=fragment):
        store.load(folder, lm)
    (folder / "fit.json").write_text(json.dumps(info))
    (folder / "transform.safetensors").write_bytes(b"not tensors")
    with pytest.raises(InputError, match="cannot be read"):
        store.load(folder, lm)


def test_the_gender_direction_and_its_gap_collapsing_after_leace(lm):
    from bertlens.bias.occupations import load_occupations
    from bertlens.debias import direction, sentence_debias

    data = sentences.default_set()
    occupations = load_occupations()[:5]
    intact = direction.gender_directions(lm, data, occupations)
    erased = direction.gender_directions(lm, data, occupations, fitting.fit(lm, "leace").interventions())
    male = [a for a, _ in data.pairs]
    female = [b for _, b in data.pairs]
    for layer in intact:
        x = fitting.features(lm, data.texts, layer.layer)
        v = sentence_debias.directions(x[male], x[female])[0]
        gap = float(x[male].mean(axis=0) @ v - x[female].mean(axis=0) @ v)
        assert layer.gap == pytest.approx(abs(gap), rel=1e-4) and layer.gap > 0
        assert 0 < layer.share <= 1 and len(layer.occupations) == 5
        assert sum(p for _, p in layer.occupations) == pytest.approx(0, abs=1e-9)
    assert erased[0].gap == pytest.approx(intact[0].gap, rel=1e-6)
    assert abs(erased[-1].gap) < 1e-4 * intact[-1].gap


def test_a_model_seen_through_a_fit_applies_it_on_every_pass_and_leaves_the_shared_model_intact(lm):
    """`LoadedModel.with_transform`: every encoder pass of the copy equals the pass with the fit's projections as
    its argument, the shared handle keeps giving the intact states, and the two keys differ (no cache mixes them)."""
    fit = fitting.fit(lm, "leace", layers=[2])
    debiased = lm.with_transform(fit)
    ids = torch.tensor([lm.tokenizer("She is a nurse.")["input_ids"]])
    with torch.inference_mode():
        expected = forward.encoder(lm, ids, interventions=fit.interventions()).last_hidden
        seen = forward.encoder(debiased, ids).last_hidden
        intact = forward.encoder(lm, ids).last_hidden
        heads_off = forward.encoder(debiased, ids, interventions=Interventions(ablate={(0, 0)})).last_hidden
        both = forward.encoder(lm, ids, interventions=Interventions(ablate={(0, 0)},
                                                                    project=fit.interventions().project)).last_hidden
    torch.testing.assert_close(seen, expected)
    torch.testing.assert_close(heads_off, both)
    assert not torch.allclose(seen, intact)
    assert lm.transform is None and debiased.key != lm.key and debiased.model is lm.model
    assert debiased.transform_name == "Debiased: LEACE at layer 2" and lm.transform_name is None
    again = fitting.fit(lm, "leace", layers=[2])
    assert lm.with_transform(again).key == debiased.key
    assert lm.with_transform(fitting.fit(lm, "leace", layers=[1])).key != debiased.key
