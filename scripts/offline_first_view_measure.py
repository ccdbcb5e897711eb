"""How long a visitor waits for the "how to get the weights" panel in the browser when the weights are not on this
machine: a fresh server on the hub id, an empty Hugging Face cache, headless chromium at 1024x768, timed from
opening the page to the panel. Two networks: this machine's own (the hub unreachable), and a black hole (a server
that accepts connections and never answers). Issue 21's target is 5 s.

    .venv/bin/python scripts/offline_first_view_measure.py

On the 2-core CI-like machine, quiet: 2.1 s (unreachable hub) and 4.3 s (black hole) for the first page of a
fresh server, about 1 s for the next page.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from offline_panel_measure import black_hole  # noqa: E402

PANEL_TEXT = "are not available on this machine"


def measure(browser, env: dict[str, str]) -> list[tuple[str, float]]:
    from browser_support import running_app

    times = []
    with running_app("bert-large-cased", env=env, startup_timeout=180) as app:
        for page in ("", "fill-mask"):
            tab = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
            start = time.monotonic()
            tab.goto(f"{app.url}/{page}")
            tab.get_by_text(PANEL_TEXT).first.wait_for(timeout=120_000)
            times.append((page or "home", time.monotonic() - start))
            tab.context.close()
    return times


def main() -> None:
    from playwright.sync_api import sync_playwright

    from browser_support import launch_chromium

    networks = {"this machine's network": {}, "a black hole": {"HF_ENDPOINT": black_hole()}}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for name, extra in networks.items():
            env = {"HF_HUB_OFFLINE": "0", "HF_HOME": tempfile.mkdtemp(), **extra}
            shown = ", ".join(f"{page} {seconds:.2f} s" for page, seconds in measure(browser, env))
            print(f"{name}: {shown}")
        browser.close()


if __name__ == "__main__":
    main()
