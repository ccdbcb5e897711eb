"""Random-weight BERT models on the real vocabulary, for tests and benchmarks.

A folder written here is marked `bertlens_random_weights` in its config, so the app labels every output from it
as meaningless rather than presenting it as bert-large-cased's.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch

from bertlens.model import RANDOM_WEIGHTS_FLAG

SHARED_VOCAB = Path(__file__).resolve().parent.parent.parent / "shared" / "vocab" / "bert-large-cased-vocab.txt"
REAL_VOCAB_SIZE = 28996

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = """the a an of to and in is was he she his her man woman men women boy girl father mother son daughter
husband wife king queen worked works as at for with on by it this that they we you i I The He She It They This
A An My Hello hello model male female fashion new super famous doctor nurse teacher engineer mechanic waiter
waitress secretary maid cop lawyer farmer driver cook chef pilot soldier writer artist singer dancer manager
clerk cashier baker carpenter surgeon scientist student professor programmer
accountant architect dentist pharmacist librarian janitor guard judge banker tailor barber hairdresser
housekeeper receptionist editor designer analyst physician therapist counselor sheriff CEO
fire fighter elect rician p lumber went to store bought milk sky blue dog cat ran fast happy sad good bad
Paris France capital city is of in went home school work day night big small red green old young
cold hot rain sun snow tree house car book read write said say one two three am are be been has have had
not no yes very more most some all any can will would could should do does did go goes make made""".split()
_PIECES = ["##" + s for s in "s ed ing er ly ian ist ess fighter lumber rician tion al ment ness".split()]
_PUNCT = list(".,!?;:'\"()-/<>=&[]{}#@*+%$")
_CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def vocabulary(path: Path | None = None) -> list[str]:
    """The real bert-large-cased vocabulary when shared/ is present, else a small built-in one."""
    path = Path(os.environ.get("BERT_LENS_VOCAB", path or SHARED_VOCAB))
    if path.is_file():
        tokens = path.read_text(encoding="utf-8").split("\n")
        tokens = tokens[:-1] if tokens[-1] == "" else tokens
        return tokens
    tokens = list(SPECIAL) + _PUNCT + _CHARS + ["##" + c for c in _CHARS]
    for word in _WORDS + _PIECES:
        if word not in tokens:
            tokens.append(word)
    return tokens


def build_tokenizer(tokens: list[str]):
    """Build from a dict, then check the size: BertTokenizer(vocab_file=...) can keep only the special tokens."""
    from transformers import BertTokenizer

    vocab = OrderedDict((token, index) for index, token in enumerate(tokens))
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=False, model_max_length=512)
    if len(tokenizer) != len(tokens):
        raise RuntimeError(f"tokenizer kept {len(tokenizer)} of {len(tokens)} tokens")
    return tokenizer


def config_for(size: str, vocab_size: int, **overrides):
    """'tiny' for tests; 'large' is bert-large-cased's exact architecture (336M parameters)."""
    from transformers import BertConfig

    shapes = {
        "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
        "heads": dict(hidden_size=64, num_hidden_layers=24, num_attention_heads=16, intermediate_size=64),
        "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    }[size]
    shapes.update(overrides)
    config = BertConfig(vocab_size=vocab_size, max_position_embeddings=512, type_vocab_size=2, **shapes)
    setattr(config, RANDOM_WEIGHTS_FLAG, True)
    return config


def build_random_model(folder: str | os.PathLike, size: str = "tiny", seed: int = 0, head: str = "pretraining",
                       vocab_path: Path | None = None, **overrides) -> Path:
    """Write a random BERT (`head`: 'pretraining' or 'base') with its tokenizer to `folder`; return the path."""
    from transformers import BertForPreTraining, BertModel

    folder = Path(folder)
    tokens = vocabulary(vocab_path)
    tokenizer = build_tokenizer(tokens)
    config = config_for(size, len(tokens), **overrides)
    torch.manual_seed(seed)
    model_class = {"pretraining": BertForPreTraining, "base": BertModel}[head]
    config.architectures = [model_class.__name__]
    model = model_class(config).eval()
    if size == "tiny":
        _sharpen(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _sharpen(model) -> None:
    """A tiny random model's distributions are nearly flat; larger weights make rankings and ties meaningful."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("weight") and param.dim() == 2:
                param.mul_(8.0)
