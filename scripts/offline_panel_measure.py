"""How long the app's model path takes to give up when the hub cannot be reached (the time before the "how to get
the weights" panel, imports excepted): the checks `services.model.open_model` runs, against a black hole, a server
that accepts connections and never answers (a captive portal, a firewall that drops the traffic).

    .venv/bin/python scripts/offline_panel_measure.py

Before issue 21 this path took 396 s (the hub client's retries behind the black hole); after, about 2 s.
"""
from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def black_hole() -> str:
    """The address of a server that accepts connections and never answers (it lives as long as the process)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in iter(int, 1)], daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def main() -> None:
    os.environ.pop("HF_HUB_OFFLINE", None)
    os.environ["HF_HOME"] = tempfile.mkdtemp()
    os.environ["HF_ENDPOINT"] = black_hole()
    from transformers import BertForPreTraining  # noqa: F401  (imports are not the network's wait)

    from bertlens import Settings, load_model
    from bertlens.download import download, needs_download
    from bertlens.errors import WeightsUnavailable

    start = time.monotonic()
    try:
        if needs_download("bert-large-cased"):
            download("bert-large-cased")
        load_model(Settings(model="bert-large-cased"))
    except WeightsUnavailable as exc:
        print(f"WeightsUnavailable: {exc.detail}")
    print(f"the weights panel's checks gave up after {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
