"""Errors the core raises. Each message is written for the person who typed the input."""
from __future__ import annotations

import shlex


class BertLensError(ValueError):
    """Base class: a problem the user can fix, with a message that says how."""


class InputError(BertLensError):
    """The text or options given cannot be run as they are."""


class WeightsUnavailable(BertLensError):
    """The model's weights are neither in the local cache nor reachable."""

    def __init__(self, model_id: str, detail: str = "") -> None:
        self.model_id = model_id
        self.detail = detail
        super().__init__(weights_help(model_id, detail))


class ModelFolderError(BertLensError):
    """A local model folder exists but is broken: missing or truncated files, a wrong config."""


class MissingHead(BertLensError):
    """The checkpoint lacks the pre-training head a feature needs (MLM or NSP)."""


def download_command(model_id: str) -> str:
    """The command that fetches `model_id`'s weights, quoted so it runs as printed (a folder with spaces)."""
    return f"python -m bertlens download --model {shlex.quote(model_id)}"


def weights_help(model_id: str, detail: str = "") -> str:
    """The text shown wherever the weights cannot be found: on every page and by the command line."""
    lines = [
        f"The weights of '{model_id}' are not on this machine and could not be downloaded.",
        "",
        "Two ways out:",
        "  1. On a machine with internet access, pre-fetch them into the Hugging Face cache:",
        f"       {download_command(model_id)}",
        "     (copy ~/.cache/huggingface to an offline machine, e.g. a classroom without wifi)",
        "  2. Point BERT Lens at a local folder that holds the model (config.json, model.safetensors, tokenizer):",
        "       BERT_LENS_MODEL=/path/to/bert-large-cased make run",
    ]
    if detail:
        lines += ["", f"Details: {detail}"]
    return "\n".join(lines)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a message quotes of a
    library's error, without its traceback-like detail."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
