"""The deployment settings in .streamlit/config.toml: XSRF protection on, usage statistics off, small uploads,
error details hidden from viewers. Checked in the file and as Streamlit itself reads it; the running server's
behaviour is checked in test_e2e_browser.py."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".streamlit" / "config.toml"
MAX_UPLOAD_MB = 5


def test_config_file_keeps_the_security_settings():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    server, browser, client = config["server"], config["browser"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True
    assert browser["gatherUsageStats"] is False
    assert 1 <= server["maxUploadSize"] <= MAX_UPLOAD_MB
    assert server.get("maxMessageSize", 200) <= 200
    assert client["showErrorDetails"] in ("none", False)
    assert server.get("headless") is True


def test_no_full_garbage_collection_after_every_script_run():
    """Streamlit's default gc.collect(2) after each run took about 100 ms holding the GIL with torch loaded; a
    job's progress panel reruns twice a second per session, and two sessions watching one CrowS-Pairs job slowed
    it from 5 s to 24 of 160 pairs in 227 s."""
    runner = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["runner"]
    assert runner["postScriptGC"] is False


def test_streamlit_reads_the_same_settings():
    """`streamlit config show` from the project root: the values the server will actually run with."""
    done = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    effective: dict[str, str] = {}
    section = ""
    for line in done.stdout.splitlines():
        if match := re.match(r"^\[(\w+)\]$", line.strip()):
            section = match.group(1)
        elif match := re.match(r"^(\w+) = (.+)$", line.strip()):
            effective[f"{section}.{match.group(1)}"] = match.group(2).strip()
    assert effective["server.enableXsrfProtection"] == "true"
    assert effective["server.enableCORS"] == "true"
    assert effective["browser.gatherUsageStats"] == "false"
    assert 1 <= int(effective["server.maxUploadSize"]) <= MAX_UPLOAD_MB
    assert effective["client.showErrorDetails"].strip('"') == "none"
    hidden = subprocess.run([sys.executable, "-c", "from streamlit import config; "
                             "print(config.get_option('runner.postScriptGC'))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert hidden.stdout.strip() == "False", hidden.stderr[-2000:]
