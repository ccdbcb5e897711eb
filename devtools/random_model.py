"""The random-model builder moved into the package (`bertlens.random_model`, `python -m bertlens random-model`);
this name stays for the tests, the benchmark and the scripts that import it from here."""
from bertlens.random_model import (REAL_VOCAB_SIZE, VOCAB_PATH, build_random_model, build_tokenizer,  # noqa: F401
                                   config_for, vocabulary)
