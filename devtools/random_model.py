"""The random-model builder moved into the package (`bertlens.random_model`, `python -m bertlens random-model`);
this name stays for the tests, the benchmark and the scripts that import it from here. `model_folder` keeps the
benchmark's full-size random models built once, for the benchmark and its sections' own commands."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bertlens.random_model import (REAL_VOCAB_SIZE, VOCAB_PATH, build_random_model, build_tokenizer,  # noqa: F401
                                   config_for, vocabulary)

CACHE_DIR_ENV = "BERT_LENS_BENCH_CACHE"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path(tempfile.gettempdir()) / "bertlens-bench-cache")


def model_folder(size: str = "large", seed: int = 0, cache_dir: Path | None = None) -> Path:
    """A random-weight model of `size` on the real vocabulary, built once and reused (keyed by size and seed)."""
    folder = (cache_dir or default_cache_dir()) / f"{size}-seed{seed}"
    if not (folder / "config.json").is_file() or not list(folder.glob("*.safetensors")):
        folder.mkdir(parents=True, exist_ok=True)
        build_random_model(folder, size=size, seed=seed)
    return folder
