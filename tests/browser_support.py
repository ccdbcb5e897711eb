"""Running the real app for browser and load tests: `streamlit run app.py` on a free localhost port.

`running_app(model_dir)` starts the server in its own process group with the given model folder, waits until
/_stcore/health answers and the process is idle, yields an `AppServer`, and kills the whole group afterwards.
`launch_chromium()` opens Debian's chromium with the flags that work in a container. Both are generic: any test
module may use them.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("BERT_LENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class AppServer:
    """A running `streamlit run app.py`: its base URL and process."""

    url: str
    host: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        """Resident memory of the server and all its children, in bytes."""
        root = psutil.Process(self.pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_idle(self, cpu_below: float = 15.0, quiet_for: float = 1.0, timeout: float = 60.0) -> None:
        """Wait until the server's CPU use stays under `cpu_below` percent for `quiet_for` seconds."""
        proc = psutil.Process(self.pid)
        proc.cpu_percent(None)
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            time.sleep(0.25)
            busy = proc.cpu_percent(None)
            if busy < cpu_below:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_for:
                    return
            else:
                quiet_since = None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def app_env(model_dir: str | os.PathLike | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the server runs with: offline, CPU, the given model folder (or hub id)."""
    env = dict(os.environ)
    env.update({
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "BERT_LENS_DEVICE": "cpu",
        "PYTHONUNBUFFERED": "1",
    })
    if model_dir is not None:
        env["BERT_LENS_MODEL"] = str(model_dir)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_app(model_dir: str | os.PathLike | None, env: dict[str, str] | None = None, *,
                startup_timeout: float = 90.0, log_dir: Path | None = None,
                extra_args: list[str] | None = None, script: str = "app.py") -> Iterator[AppServer]:
    """Start `streamlit run app.py` (or `script`, e.g. serve.py) on a free 127.0.0.1 port; yield it once healthy
    and idle; kill its group after."""
    host = "127.0.0.1"
    port = free_port(host)
    log_dir = Path(log_dir or ARTIFACTS)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"streamlit-{port}.log"
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / script),
               "--server.port", str(port), "--server.address", host, "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               *(extra_args or [])]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=app_env(model_dir, env), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = AppServer(url=f"http://{host}:{port}", host=host, port=port, process=process, log_path=log_path)
    try:
        _wait_healthy(server, startup_timeout)
        server.wait_idle(timeout=30)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def _wait_healthy(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f}s:\n{server.log()[-4000:]}")


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file()


def launch_chromium(playwright, **kwargs):
    """Headless Debian chromium (Playwright cannot download its own browser here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs)


@dataclass(frozen=True)
class AppPage:
    """One page as app.py's st.navigation declares it."""

    script: str      # path relative to the project root, e.g. "app_pages/fill_mask.py"
    name: str        # the script's stem, e.g. "fill_mask": the key test tables use
    url_path: str    # "" for the default page
    default: bool


def app_pages(app_file: Path = ROOT / "app.py") -> list[AppPage]:
    """The pages app.py declares, default page first, whatever folder they live in."""
    import re

    pages = []
    for script, args in re.findall(r'st\.Page\(\s*"([\w/]+\.py)"(.*?)\)\s*,?\s*\n', app_file.read_text("utf-8")):
        default = "default=True" in args
        match = re.search(r'url_path="([^"]*)"', args)
        url_path = "" if default else (match.group(1) if match else Path(script).stem)
        pages.append(AppPage(script, Path(script).stem, url_path, default))
    return sorted(pages, key=lambda page: not page.default)
