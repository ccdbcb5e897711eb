"""Run-time settings: each is an environment variable and a command-line flag."""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MODEL = "bert-large-cased"
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "auto"

    @classmethod
    def from_env(cls, **overrides: str | None) -> "Settings":
        """Read BERT_LENS_MODEL, BERT_LENS_DEVICE and BERT_LENS_DTYPE; non-None overrides win."""
        values = {
            "model": os.environ.get("BERT_LENS_MODEL") or DEFAULT_MODEL,
            "device": (os.environ.get("BERT_LENS_DEVICE") or "auto").lower(),
            "dtype": (os.environ.get("BERT_LENS_DTYPE") or "auto").lower(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def resolved_dtype(self) -> str:
        """'auto' is float32 on every device: BERT Lens is an audit tool first, and only float32 reproduces the
        reference pipeline and published metrics. A faster precision is an explicit choice."""
        return "float32" if self.dtype == "auto" else self.dtype

    def validate(self) -> None:
        from bertlens.errors import InputError

        if self.device not in DEVICES:
            raise InputError(f"Unknown device '{self.device}'. Use one of: {', '.join(DEVICES)}.")
        if self.dtype not in DTYPES:
            raise InputError(f"Unknown dtype '{self.dtype}'. Use one of: {', '.join(DTYPES)}.")
