"""Attention explorer figures: bytes sent to the browser per view (ours vs bertviz) and extraction time.

    .venv/bin/python scripts/attention_measure.py --sizes-model /tmp/m/heads --time-model /tmp/m/large

Without folders it builds them: a random model with bert-large's 24 x 16 heads and a small hidden size ("heads":
the same attention shapes) for the sizes, and a full-size random bert-large ("large", ~1.3 GB) for the time.
Random weights change no size or time. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bertlens import Settings, load_model  # noqa: E402
from devtools.attention_timing import time_extraction  # noqa: E402
from devtools.attention_payload import payload_sizes  # noqa: E402
from devtools.random_model import build_random_model  # noqa: E402


def folder(given: str | None, size: str, scratch: Path) -> str:
    return given or str(build_random_model(scratch / size, size=size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-model", help="folder of a model with 24 x 16 heads (built if absent)")
    parser.add_argument("--time-model", help="folder of a full-size bert-large (built if absent)")
    parser.add_argument("--tokens", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true")
    args = parser.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        if not args.skip_sizes:
            lm = load_model(Settings(model=folder(args.sizes_model, "heads", Path(scratch)), device="cpu"))
            out["sizes"] = [payload_sizes(lm, n) for n in args.tokens]
        if not args.skip_time:
            lm = load_model(Settings(model=folder(args.time_model, "large", Path(scratch)), device="cpu"))
            import torch

            out["time"] = {**time_extraction(lm, 512, repeats=args.repeats), "threads": torch.get_num_threads(),
                           "model_parameters": lm.info.parameters}
            out["time"]["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
