"""Makes the screenshots of the main pages under docs/screenshots/ from the tests' invented data.

Runs the browser walk (tests/web/test_walk_browser.py: a case from the disclosure on a phone to
its closure, and each role's pages) with ``SAFEGUARD_SCREENSHOTS`` set to this directory, which
makes the walk save each main page as it passes it:

    .venv/bin/python docs/screenshots/make.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    env = {**os.environ, "SAFEGUARD_SCREENSHOTS": str(HERE)}
    walk = [sys.executable, "-m", "pytest", "-q", "tests/web/test_walk_browser.py"]
    done = subprocess.run(walk, cwd=ROOT, env=env, check=False)
    if done.returncode == 0:
        for shot in sorted(HERE.glob("*.png")):
            print(shot.relative_to(ROOT))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
