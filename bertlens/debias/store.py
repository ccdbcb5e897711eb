"""A fitted transform on disk: `transform.safetensors` (each layer's matrix and offset) and `fit.json` (method,
layers, options, data hash, model fingerprint). A fit loads only for the model it was fitted on."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bertlens.bias.files import read_bytes, read_text
from bertlens.debias import METHODS, NAMES
from bertlens.errors import InputError
from bertlens.interventions import Interventions, Projection
from bertlens.model import LoadedModel
from bertlens.schemas import parse_json

FIT_JSON = "fit.json"
TENSORS = "transform.safetensors"
FORMAT = 1
MAX_TENSOR_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted transform. `layers` count from 1 (the output of that layer); `matrices[i]` and `offsets[i]` are
    layer `layers[i]`'s (empty for Self-Debias, which fits nothing)."""

    method: str
    layers: tuple[int, ...]
    options: dict[str, Any]
    data_hash: str
    fingerprint: str
    model_id: str
    sentences: int
    matrices: tuple[torch.Tensor, ...] = ()
    offsets: tuple[torch.Tensor | None, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """How every output names what was computed with it: "Debiased: LEACE at layer 24"."""
        if not self.layers:
            return f"Debiased: {NAMES[self.method]}"
        where = "layer" if len(self.layers) == 1 else "layers"
        return f"Debiased: {NAMES[self.method]} at {where} {', '.join(str(l) for l in self.layers)}"

    @property
    def key(self) -> str:
        """Identifies the fit (method, layers, options, data, model), for result caches: `LoadedModel.key`."""
        import hashlib

        text = json.dumps({k: v for k, v in self.describe().items() if k != "name"}, sort_keys=True, default=str)
        return "debias:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def interventions(self) -> Interventions | None:
        """The transform as an argument of `forward.encoder` (None for Self-Debias, which rescales the MLM)."""
        if not self.matrices:
            return None
        return Interventions(project=tuple(Projection(layer - 1, matrix, offset)
                                           for layer, matrix, offset in zip(self.layers, self.matrices, self.offsets)))

    def describe(self) -> dict[str, Any]:
        return {"format": FORMAT, "method": self.method, "name": self.name, "layers": list(self.layers),
                "options": self.options, "data_hash": self.data_hash, "model_fingerprint": self.fingerprint,
                "model": self.model_id, "sentences": self.sentences, **self.extra}


def save(fit: Fit, folder: str | Path) -> Path:
    """Write the fit into `folder` (created); returns the folder."""
    from safetensors.torch import save_file

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for layer, matrix, offset in zip(fit.layers, fit.matrices, fit.offsets):
            tensors[f"layer{layer}.matrix"] = matrix.detach().float().contiguous().cpu()
            if offset is not None:
                tensors[f"layer{layer}.offset"] = offset.detach().float().contiguous().cpu()
        save_file(tensors, str(folder / TENSORS))
        (folder / FIT_JSON).write_text(json.dumps(fit.describe(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write the fit to '{folder}': {exc.strerror or exc}.") from None
    return folder


def load(folder: str | Path, lm: LoadedModel) -> Fit:
    """The fit saved in `folder`, checked against `lm`. Raises InputError for a missing or broken file, or a fit
    made for another model."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    folder = Path(folder)
    name = f"the fit '{folder / FIT_JSON}'"
    info = parse_json(read_text(folder / FIT_JSON, name), name)
    if not isinstance(info, dict) or info.get("method") not in METHODS or not isinstance(info.get("layers"), list):
        raise InputError(f"{name[:1].upper() + name[1:]} is not a BERT Lens fit (no method or layers).")
    if info.get("model_fingerprint") != lm.fingerprint():
        raise InputError(f"The fit in '{folder}' was made for another model ('{info.get('model', '?')}'); fit it "
                         f"again for '{lm.info.model_id}'.")
    if not all(isinstance(l, int) and not isinstance(l, bool) for l in info["layers"]) or \
            (info["method"] != "self_debias" and not info["layers"]):
        raise InputError(f"{name[:1].upper() + name[1:]}: 'layers' must be a list of layer numbers.")
    layers = tuple(info["layers"])
    check_layers(layers, lm)
    matrices, offsets = [], []
    if info["method"] != "self_debias":
        try:
            tensors = load_tensors(read_bytes(folder / TENSORS, f"the fit's tensors '{folder / TENSORS}'",
                                              MAX_TENSOR_BYTES))
        except (SafetensorError, ValueError) as exc:
            raise InputError(f"The fit's tensors in '{folder}' cannot be read: {str(exc)[:80]}.") from None
        hidden = lm.config.hidden_size
        for layer in layers:
            matrix = tensors.get(f"layer{layer}.matrix")
            if matrix is None or tuple(matrix.shape) != (hidden, hidden):
                raise InputError(f"The fit in '{folder}' has no {hidden}x{hidden} matrix for layer {layer}.")
            matrices.append(matrix)
            offsets.append(tensors.get(f"layer{layer}.offset"))
    known = {"format", "method", "name", "layers", "options", "data_hash", "model_fingerprint", "model", "sentences"}
    options = info.get("options") or {}
    sentences = info.get("sentences", 0)
    if not isinstance(options, dict) or not isinstance(sentences, int):
        raise InputError(f"{name[:1].upper() + name[1:]}: 'options' must be an object and 'sentences' a number.")
    if info["method"] == "self_debias" and not {"prefix", "decay", "epsilon"} <= set(options):
        raise InputError(f"{name[:1].upper() + name[1:]}: a Self-Debias fit needs prefix, decay and epsilon.")
    return Fit(info["method"], layers, dict(options), str(info.get("data_hash", "")),
               info["model_fingerprint"], str(info.get("model", "")), sentences,
               tuple(matrices), tuple(offsets), {k: v for k, v in info.items() if k not in known})


def check_layers(layers: tuple[int, ...], lm: LoadedModel) -> None:
    """Raises InputError for a layer outside 1..the model's layer count."""
    count = lm.config.num_hidden_layers
    for layer in layers:
        if not 1 <= layer <= count:
            raise InputError(f"Layer {layer} is outside the model: its layers are 1 to {count}.")
