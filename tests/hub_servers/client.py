"""Run Hub client code in a fresh Python process, with its own HF_* environment.

``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HOME`` and ``HF_HUB_OFFLINE`` when it is imported,
so each client scenario runs in a subprocess that starts with them set. The code gets ``inputs``
(a JSON-able dict) and reports with ``emit(result)``; :func:`run_client` returns that result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PRELUDE = """\
import json, os, sys
inputs = json.loads(os.environ["HUB_TEST_INPUTS"])
def emit(result):
    print("HUB_TEST_RESULT " + json.dumps(result), flush=True)
"""


def run_client(code: str, *, inputs: dict, hf_env: dict[str, str], timeout: float = 120) -> dict:
    """Run ``code`` with ``inputs`` under exactly the ``HF_*`` variables in ``hf_env``; return what it emitted."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    env.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", OMP_NUM_THREADS="1",
               HUB_TEST_INPUTS=json.dumps(inputs), **hf_env)
    script = PRELUDE + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)
    results = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("HUB_TEST_RESULT ")]
    if done.returncode != 0 or not results:
        raise AssertionError(f"Hub client failed (exit {done.returncode}).\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-6000:]}")
    return json.loads(results[-1])
