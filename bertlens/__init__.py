"""BERT Lens core: model loading, fill-mask, next-sentence prediction, attention and bias probes.

Nothing here imports Streamlit; the pages and the command line call the same functions. The model's names load on
first use (PEP 562), so reading the settings imports no torch: the command line refuses a bad BERT_LENS_* value
before paying for it (`bertlens.__main__`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bertlens.errors import BertLensError, InputError, MissingHead, ModelFolderError, WeightsUnavailable
from bertlens.settings import Settings

if TYPE_CHECKING:
    from bertlens.model import LoadedModel, ModelInfo, load_model

__all__ = ["BertLensError", "InputError", "MissingHead", "ModelFolderError", "WeightsUnavailable", "LoadedModel",
           "ModelInfo", "load_model", "Settings"]
_FROM_MODEL = frozenset({"LoadedModel", "ModelInfo", "load_model"})


def __getattr__(name: str) -> Any:
    if name in _FROM_MODEL:
        from bertlens import model

        return getattr(model, name)
    raise AttributeError(f"module 'bertlens' has no attribute {name!r}")
