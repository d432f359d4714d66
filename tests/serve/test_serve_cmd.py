"""``lnfusion serve``: starts a real server, warns off localhost, and fails cleanly on a bad folder."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from lnfusion.cli import main
from lnfusion.cli.serve_cmd import is_loopback

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                         ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                         ("192.168.1.20", False), ("example.org", False)])
def test_is_loopback(host, local):
    assert is_loopback(host) is local


def test_serve_is_listed_and_documented():
    runner = CliRunner()
    assert "serve" in runner.invoke(main, ["--help"]).output
    text = runner.invoke(main, ["serve", "--help"]).output
    assert "--host" in text and "127.0.0.1" in text and "--port" in text and "--max-file-mb" in text


def test_a_folder_that_is_not_a_model_fails_without_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["serve", str(tmp_path)])
    assert result.exit_code != 0
    assert "Error:" in result.output and "Traceback" not in result.output


def test_serve_answers_and_warns_when_not_on_localhost(demo_fitted):
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", "from lnfusion.cli import main; main()", "serve",
                             str(demo_fitted.model_dir), "--host", "0.0.0.0", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "WARNING: listening on 0.0.0.0, not on localhost" in err
    assert f"http://0.0.0.0:{port}/" in err
