"""Write deploy/requirements.lock: every package the app needs at run time (requirements.txt and everything those
require, recursively), pinned at the version installed in this environment, the one the tests ran on.

    python -m devtools.runtime_lock          # rewrite the lock
    python -m devtools.runtime_lock --check  # exit 1 when the lock differs from what it would write

The Dockerfile installs from it with one index per pip call; tests/test_deploy.py checks it agrees with
requirements.txt.
"""
from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "deploy" / "requirements.lock"
HEADER = ("# The whole run-time tree of requirements.txt, pinned as tested (python -m devtools.runtime_lock).\n"
          "# torch is installed first from PyTorch's CPU (or CUDA) index; everything else from PyPI.\n")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level(path: Path = REQUIREMENTS) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def closure(requirements: list[Requirement]) -> dict[str, str]:
    """{canonical name: installed version} of `requirements` and all they require (extras followed)."""
    environment = default_environment()
    found: dict[str, str] = {}
    pending = [(r, frozenset(r.extras)) for r in requirements]
    seen: set[tuple[str, frozenset]] = set()
    while pending:
        requirement, extras = pending.pop()
        name = canonical(requirement.name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        distribution = metadata.distribution(requirement.name)
        found[name] = distribution.version.split("+")[0]
        for text in distribution.requires or []:
            child = Requirement(text)
            if child.marker is not None and not any(
                    child.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""})):
                continue
            pending.append((child, frozenset(child.extras)))
    return found


def lock_text() -> str:
    pins = closure(top_level())
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = lock_text()
    if args.check:
        same = LOCK.is_file() and LOCK.read_text(encoding="utf-8") == text
        print("deploy/requirements.lock is up to date" if same else "deploy/requirements.lock is stale")
        return 0 if same else 1
    LOCK.write_text(text, encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)} ({text.count(chr(10)) - 2} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
