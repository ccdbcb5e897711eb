"""Random-weight BERT models on the real vocabulary: for trying the app without the weights
(`python -m bertlens random-model OUT`), for the tests and for the benchmark.

A folder written here is marked `bertlens_random_weights` in its config, so the app labels every output from it
as meaningless rather than presenting it as bert-large-cased's.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch

from bertlens.model import RANDOM_WEIGHTS_FLAG

VOCAB_PATH = Path(__file__).resolve().parent / "data" / "vocab" / "bert-large-cased-vocab.txt"
REAL_VOCAB_SIZE = 28996


def vocabulary(path: Path = VOCAB_PATH) -> list[str]:
    """bert-large-cased's own WordPiece vocabulary, shipped in `bertlens/data/vocab/` (Apache-2.0).

    Raises RuntimeError when the file is missing or is not the 28,996-token vocabulary: a random model on any other
    vocabulary would tokenise, and cost, differently from the real one.
    """
    if not path.is_file():
        raise RuntimeError(f"The vocabulary file {path} is missing; it ships with the project (bertlens/data/vocab/).")
    tokens = path.read_text(encoding="utf-8").split("\n")
    tokens = tokens[:-1] if tokens[-1] == "" else tokens
    if len(tokens) != REAL_VOCAB_SIZE:
        raise RuntimeError(f"{path} holds {len(tokens):,} tokens, not bert-large-cased's {REAL_VOCAB_SIZE:,}.")
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
    """'tiny' for tests; 'heads' has bert-large-cased's 24 layers of 16 heads on a hidden size of 64 (2.5M
    parameters: quick on any CPU); 'large' is bert-large-cased's exact architecture (336M parameters)."""
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
                       vocab_path: Path = VOCAB_PATH, sharpen: bool | None = None, **overrides) -> Path:
    """Write a random BERT (`head`: 'pretraining' or 'base') with its tokenizer to `folder`; return the path.

    `sharpen` (default: only for 'tiny') scales the weights up so that the distributions are not flat."""
    from transformers import BertForPreTraining, BertModel

    folder = Path(folder)
    tokens = vocabulary(vocab_path)
    tokenizer = build_tokenizer(tokens)
    config = config_for(size, len(tokens), **overrides)
    torch.manual_seed(seed)
    model_class = {"pretraining": BertForPreTraining, "base": BertModel}[head]
    config.architectures = [model_class.__name__]
    model = model_class(config).eval()
    if size == "tiny" if sharpen is None else sharpen:
        _sharpen(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _sharpen(model) -> None:
    """A small random model's distributions are nearly flat; larger weights make rankings and ties meaningful."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("weight") and param.dim() == 2:
                param.mul_(8.0)
