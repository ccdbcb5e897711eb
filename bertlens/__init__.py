"""BERT Lens core: model loading, fill-mask, next-sentence prediction, attention and bias probes.

Nothing here imports Streamlit; the pages and the command line call the same functions.
"""
from bertlens.errors import BertLensError, InputError, MissingHead, ModelFolderError, WeightsUnavailable
from bertlens.model import LoadedModel, ModelInfo, load_model
from bertlens.settings import Settings

__all__ = ["BertLensError", "InputError", "MissingHead", "ModelFolderError", "WeightsUnavailable", "LoadedModel",
           "ModelInfo", "load_model", "Settings"]
