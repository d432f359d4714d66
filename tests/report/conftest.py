"""Fixtures of the report tests: headless Chromium (installed when missing)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _install_chromium() -> str | None:
    """Install Debian's ``chromium`` package; return why it failed, or None."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available (not a Debian-like system)"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "installing chromium needs root (run `apt-get install -y chromium` once)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not CHROMIUM.exists():
        return f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium; skips the test with the reason when unavailable."""
    if not CHROMIUM.exists():
        try:
            problem = _install_chromium()
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"installing chromium failed: {exc}"
        if problem:
            pytest.skip(f"headless Chromium unavailable: {problem}")
    return str(CHROMIUM)
