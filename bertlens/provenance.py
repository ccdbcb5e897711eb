"""What ran a computation: the versions of BERT Lens, Python, torch and transformers, the device, its processor and
the precision. Every report and export carries it (`bertlens.bias.reports`, `bertlens.export`), so a figure can be
traced to the software and hardware that produced it."""
from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def bertlens_version() -> str:
    """The BERT Lens source this process runs: the git commit of its checkout (with "+changes" when files differ from
    it), or "unknown (not a git checkout)". BERT Lens is not released as a versioned package, so the commit is the
    version a client can ask for."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                "bertlens"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"git {commit}{'+changes' if dirty else ''}" if commit else "unknown (not a git checkout)"


def hardware(device: str) -> str:
    """The processor a model ran on: the GPU's name for cuda, else the CPU's model name."""
    if device.startswith("cuda"):
        try:
            import torch

            return torch.cuda.get_device_name(device)
        except Exception:  # no driver, or the device vanished: say so rather than fail a report
            return "CUDA GPU (name unavailable)"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def provenance(device: str, precision: str) -> dict[str, str]:
    """What ran a computation: the versions of BERT Lens, Python, torch and transformers, the device, its processor
    and the precision. Every report and export carries it."""
    import torch
    import transformers

    return {"bertlens": bertlens_version(), "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "platform": platform.platform(), "device": device,
            "hardware": hardware(device), "precision": precision}
