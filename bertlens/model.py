"""Loading bert-large-cased (or any BERT checkpoint) once, with eager attention.

One `BertForPreTraining` serves MLM logits, NSP logits and attention weights. In transformers 5 only the eager
attention implementation returns attention weights, so it is forced here.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bertlens.errors import MissingHead, ModelFolderError, WeightsUnavailable, first_line
from bertlens.settings import INT8, Settings

log = logging.getLogger(__name__)

RANDOM_WEIGHTS_FLAG = "bertlens_random_weights"
HUB_HOST = "huggingface.co"
HUB_CHECK_SECONDS = 2.0
REMEMBER_SECONDS = 30.0
_HUB_VERDICTS: dict[str, tuple[float, bool, float]] = {}
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class ModelInfo:
    """Facts about the loaded model, shown in the sidebar and stamped on every export."""

    model_id: str
    source: str
    layers: int
    heads: int
    hidden_size: int
    parameters: int
    vocab_size: int
    max_positions: int
    device: str
    dtype: str
    revision: str
    random_weights: bool
    has_mlm: bool
    has_nsp: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LoadedModel:
    """The model, its tokenizer and its facts. Shared across sessions: treat it as read-only.

    `batcher` (a `bertlens.batching.EncoderBatcher`, set by the app) lets concurrent single-sequence passes from
    different sessions share one padded batch; without it every pass runs on its own.

    `transform` (a fitted debiasing transform, `bertlens.debias.store.Fit`) is set only on the copy that
    `with_transform` returns: the shared model stays intact, every `forward.encoder` call on the copy applies the
    transform as an argument of the call, and the copy's `key` differs, so no cached result of one is read as the
    other's.
    """

    model: Any
    tokenizer: Any
    info: ModelInfo
    device: torch.device
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    batcher: Any = field(default=None, repr=False)
    transform: Any = field(default=None, repr=False)

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def key(self) -> str:
        """Identifies the weights, precision and device: equal keys give equal outputs. Result caches key on it."""
        base = f"{self.info.source}|{self.info.dtype}|{self.info.device}"
        return base if self.transform is None else f"{base}|{self.transform.key}"

    def with_transform(self, fit: Any) -> "LoadedModel":
        """This model seen through `fit` (None: the intact model). Shares weights, tokenizer, memo and batcher."""
        return dataclasses.replace(self, transform=fit)

    @property
    def transform_name(self) -> str | None:
        """"Debiased: LEACE at layer 24", or None for the intact model: what every output computed with it says."""
        return None if self.transform is None else self.transform.name

    def require(self, head: str) -> None:
        """Raise MissingHead when the checkpoint has no trained `head` ("mlm" or "nsp")."""
        present = {"mlm": self.info.has_mlm, "nsp": self.info.has_nsp}[head]
        if not present:
            name = {"mlm": "masked-language-model (MLM)", "nsp": "next-sentence-prediction (NSP)"}[head]
            raise MissingHead(
                f"The checkpoint '{self.info.model_id}' has no trained {name} head, so this feature cannot run. "
                "The attention page still works. Use a BertForPreTraining checkpoint such as bert-large-cased."
            )

    def fingerprint(self) -> str:
        """The hub revision, or a sha256 of the local weights file, so a report can be reproduced."""
        if "fingerprint" not in self.memo:
            self.memo["fingerprint"] = _fingerprint(self.info)
        return self.memo["fingerprint"]


def is_local(model: str) -> bool:
    """A path that exists, or one written as a path, is a local folder; anything else is a hub id."""
    return os.path.exists(model) or model.startswith((".", "/", "~"))


def hub_endpoint() -> str:
    """The hub's address: HF_ENDPOINT (a mirror) when set, as the hub client itself reads it."""
    return (os.environ.get("HF_ENDPOINT") or f"https://{HUB_HOST}").rstrip("/")


def hub_reachable(timeout: float = HUB_CHECK_SECONDS) -> bool:
    """Whether the hub answers an HTTPS request within `timeout` seconds, name lookup included.

    A bare TCP connection is not enough: a captive portal or a transparent proxy accepts it and then never answers,
    and the hub client would retry for minutes. Any HTTP answer counts as reachable (the download then reports its
    own errors); a lookup, connection, TLS or reply that fails or takes longer counts as offline. The verdict is
    remembered for REMEMBER_SECONDS, so the pages of an offline app do not each wait again.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = hub_endpoint()
    now = time.monotonic()
    known = _HUB_VERDICTS.get(endpoint)
    if known is not None and now - known[0] < REMEMBER_SECONDS and (known[1] or known[2] >= timeout):
        return known[1]
    verdict = _answers(f"{endpoint}/api/models/bert-large-cased", timeout)
    _HUB_VERDICTS[endpoint] = (time.monotonic(), verdict, timeout)
    return verdict


def in_cache(model_id: str, names: tuple[str, ...] = ("config.json",)) -> bool:
    """Whether the hub model's files `names` are all in the local cache. The config alone is checked before any
    loading: even a local-files-only load makes the hub client fetch a registry over the network first (3 s behind
    a black hole). An id the hub client refuses (bad characters) counts as cached, so the load reports it."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return all(isinstance(try_to_load_from_cache(model_id, name), str) for name in names)
    except Exception:
        return True


def _answers(url: str, timeout: float) -> bool:
    """Whether `url` answers a HEAD request within `timeout` seconds in all. The request runs in a daemon thread,
    because urllib's timeout bounds each socket operation but not the name lookup."""
    import urllib.error
    import urllib.request

    verdict: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                verdict.append(True)
        except urllib.error.HTTPError:
            verdict.append(True)
        except Exception:  # URLError, TLS errors, timeouts, refused connections: all mean "not now"
            verdict.append(False)

    worker = threading.Thread(target=probe, name="bertlens-hub-check", daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(verdict and verdict[0])


def load_model(settings: Settings | None = None) -> LoadedModel:
    """Load the model named by `settings` (default: from the environment).

    Raises WeightsUnavailable when a hub model is neither cached nor reachable, ModelFolderError when a local
    folder is missing or broken.
    """
    settings = settings or Settings.from_env()
    device = torch.device(settings.resolved_device())
    dtype_name = settings.resolved_dtype()
    dtype = TORCH_DTYPES.get(dtype_name, torch.float32)
    local = is_local(settings.model)
    if local:
        path = Path(settings.model).expanduser()
        if not path.is_dir():
            raise ModelFolderError(f"The model folder '{settings.model}' does not exist.")
        _check_folder(path)
        source = str(path.resolve())
        model, loading_info, tokenizer = _load(source, dtype, local_files_only=True, label=settings.model)
    else:
        source = settings.model
        if not in_cache(source) and not hub_reachable():
            raise WeightsUnavailable(settings.model, "not in the Hugging Face cache, and the hub is not reachable "
                                                     "from this machine")
        try:
            model, loading_info, tokenizer = _load(source, dtype, local_files_only=True, label=settings.model)
        except WeightsUnavailable:
            if not hub_reachable():
                raise
            model, loading_info, tokenizer = _load(source, dtype, local_files_only=False, label=settings.model)
    model.to(device).eval()
    model.requires_grad_(False)
    info = _info(settings.model, source, model, tokenizer, loading_info, device, "float32" if dtype_name == INT8
                 else dtype_name)
    lm = LoadedModel(model=model, tokenizer=tokenizer, info=info, device=device)
    return quantize_int8(lm, inplace=True) if dtype_name == INT8 else lm


def quantize_int8(lm: LoadedModel, inplace: bool = False) -> LoadedModel:
    """A float32 CPU model with its Linear layers quantised to int8 (dynamic activation scales); a copy unless
    `inplace` (then `lm` must not be used any more: its Linear layers are replaced).

    The copy is approximate: its agreement with float32 is measured by `python -m bertlens bench --only int8`.
    Embeddings, layer norms and attention weights stay float32, so every page keeps working.
    """
    if lm.device.type != "cpu" or lm.info.dtype != "float32":
        raise ValueError("int8 dynamic quantisation needs the float32 model on the CPU.")
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = lm.model if inplace else copy.deepcopy(lm.model)
        model = quantize_dynamic(source, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    info = dataclasses.replace(lm.info, dtype=INT8)
    return LoadedModel(model=model, tokenizer=lm.tokenizer, info=info, device=lm.device)


def _load(source: str, dtype: torch.dtype, local_files_only: bool, label: str):
    from transformers import AutoTokenizer, BertForPreTraining
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model, loading_info = BertForPreTraining.from_pretrained(
            source,
            attn_implementation="eager",
            dtype=dtype,
            local_files_only=local_files_only,
            output_loading_info=True,
            ignore_mismatched_sizes=True,
        )
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    except OSError as exc:
        if os.path.isdir(source):
            raise ModelFolderError(f"The model folder '{label}' is incomplete or corrupt: {first_line(exc)}") from exc
        raise WeightsUnavailable(label, first_line(exc)) from exc
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelFolderError(f"The model '{label}' could not be loaded: {first_line(exc)}") from exc
    except Exception as exc:
        if type(exc).__name__ != "SafetensorError":
            raise
        raise ModelFolderError(
            f"The weights file of '{label}' is truncated or corrupt (model.safetensors could not be read: "
            f"{first_line(exc)}). Copy or download it again."
        ) from exc
    finally:
        hf_logging.set_verbosity(previous)
        hf_logging.enable_progress_bar()
    _check_weights_match(loading_info, label)
    _check_tokenizer(tokenizer, model.config, label)
    return model, loading_info, tokenizer


def _check_weights_match(loading_info: dict[str, Any], label: str) -> None:
    """A config.json that does not fit the weights would otherwise leave layers silently random."""
    mismatched = loading_info.get("mismatched_keys") or []
    if mismatched:
        key, stored, wanted = sorted(mismatched, key=lambda item: item[0])[0]
        raise ModelFolderError(
            f"The config.json of '{label}' does not match its weights: {key} has shape {list(stored)} in the "
            f"weights file but the config asks for {list(wanted)} ({len(mismatched)} tensors differ). "
            "Use the config.json that came with the weights."
        )
    core = ("bert.embeddings.", "bert.encoder.")
    missing = sorted(k for k in loading_info.get("missing_keys") or () if k.startswith(core))
    extra = sorted(k for k in loading_info.get("unexpected_keys") or () if k.startswith("bert.encoder."))
    if missing or extra:
        keys, where = (missing, "the config asks for weights the file lacks") if missing else \
            (extra, "the weights file holds layers the config does not use")
        raise ModelFolderError(
            f"The config.json of '{label}' does not match its weights: {where} ({len(keys)} tensors, e.g. "
            f"{keys[0]}). Check num_hidden_layers and the other sizes in config.json."
        )


def _check_folder(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ModelFolderError(f"The model folder '{path}' has no config.json.")
    weights = list(path.glob("*.safetensors")) + list(path.glob("pytorch_model*.bin"))
    if not weights:
        raise ModelFolderError(f"The model folder '{path}' has no weights file (model.safetensors).")
    if not any((path / name).is_file() for name in ("tokenizer.json", "vocab.txt")):
        raise ModelFolderError(f"The model folder '{path}' has no tokenizer (tokenizer.json or vocab.txt).")


def _check_tokenizer(tokenizer: Any, config: Any, label: str) -> None:
    """transformers 5 can build a BERT tokenizer that holds only the special tokens; refuse it loudly."""
    size = len(tokenizer)
    if size < 0.9 * config.vocab_size or size > config.vocab_size:
        raise ModelFolderError(
            f"The tokenizer of '{label}' has {size:,} tokens but the model expects {config.vocab_size:,}."
        )


def _head_present(prefix: str, loading_info: dict[str, Any]) -> bool:
    missing = loading_info.get("missing_keys", set()) or set()
    return not any(key.startswith(prefix) for key in missing)


def _info(model_id: str, source: str, model: Any, tokenizer: Any, loading_info: dict, device: torch.device,
          dtype: str) -> ModelInfo:
    config = model.config
    return ModelInfo(
        model_id=model_id,
        source=source,
        layers=config.num_hidden_layers,
        heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        parameters=sum(p.numel() for p in model.parameters()),
        vocab_size=len(tokenizer),
        max_positions=config.max_position_embeddings,
        device=str(device),
        dtype=dtype,
        revision=getattr(config, "_commit_hash", None) or "local",
        random_weights=bool(getattr(config, RANDOM_WEIGHTS_FLAG, False)),
        has_mlm=_head_present("cls.predictions.transform", loading_info),
        has_nsp=_head_present("cls.seq_relationship", loading_info),
    )


def _fingerprint(info: ModelInfo) -> str:
    if info.revision != "local":
        return f"revision {info.revision}"
    files = sorted(Path(info.source).glob("*.safetensors")) or sorted(Path(info.source).glob("pytorch_model*.bin"))
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return f"sha256 {digest.hexdigest()}"

