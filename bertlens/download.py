"""Fetching the weights into the Hugging Face cache, with progress, for offline use later."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bertlens.errors import WeightsUnavailable
from bertlens.model import hub_reachable, in_cache, is_local

FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt")
REQUIRED = ("config.json", "model.safetensors")

DOWNLOAD_CHECK_SECONDS = 10.0  # someone who asked for the download can wait longer than a page view
Progress = Callable[[str, int, int | None], None]
"""progress(file name, bytes done, bytes in all or None)"""


def is_cached(model_id: str) -> bool:
    """Whether the hub model's config and weights are already in the local cache."""
    return in_cache(model_id, REQUIRED)


def needs_download(model_id: str) -> bool:
    """A hub id whose weights are not cached yet but can be fetched now. Offline, it says no within
    `hub_reachable`'s few seconds (and then at once for a while), so the page shows how to get the weights."""
    return not is_local(model_id) and not is_cached(model_id) and hub_reachable()


def download(model_id: str, progress: Progress | None = None) -> Path:
    """Download the files BERT Lens needs; `progress` gets byte counts (else the hub client's own bar shows).

    Raises WeightsUnavailable when the hub is unreachable or a required file cannot be fetched.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    if not hub_reachable(timeout=DOWNLOAD_CHECK_SECONDS):
        raise WeightsUnavailable(model_id, "the Hugging Face hub is not reachable from this machine")
    folder = None
    for name in FILES:
        try:
            path = hf_hub_download(model_id, name, tqdm_class=_bar(name, progress) if progress else None)
        except EntryNotFoundError:
            if name in REQUIRED:
                raise WeightsUnavailable(model_id, f"the model has no {name} on the hub") from None
            continue
        except Exception as exc:  # the hub client raises many types; each means "not downloaded"
            raise WeightsUnavailable(model_id, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        folder = Path(path).parent
    return folder


def _bar(name: str, progress: Progress):
    """A tqdm class that reports to `progress` instead of the terminal."""
    from tqdm.auto import tqdm

    class Reporter(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.done = 0

        def update(self, n=1):
            self.done += n or 0
            progress(name, self.done, self.total)

    return Reporter
