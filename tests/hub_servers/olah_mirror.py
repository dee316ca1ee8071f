"""olah, a self-hosted Hub mirror from PyPI, serving local git repositories on 127.0.0.1.

olah runs from its own virtual environment (``bash tests/hub_servers/setup_olah.sh`` creates
``.venv-olah`` in the repository root; ``UCIP_OLAH_VENV`` points elsewhere) because it pins its
own web stack. It is configured offline: it never contacts an upstream Hub, and answers only from
the git repositories under ``<mirrors>/{models,datasets}/<namespace>/<name>``, which :func:`publish` creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OLAH_VENV = Path(os.environ.get("UCIP_OLAH_VENV", REPO_ROOT / ".venv-olah"))
SETUP_HINT = "run `bash tests/hub_servers/setup_olah.sh` (creates .venv-olah from PyPI), or set UCIP_OLAH_VENV to a venv with olah"
GIT = ["git", "-c", "user.name=ucip-adapt tests", "-c", "user.email=tests@ucip-adapt.invalid", "-c", "commit.gpgsign=false"]


def olah_cli() -> Path:
    """The ``olah-cli`` of the olah venv; a missing one is an error that says how to set it up."""
    cli = OLAH_VENV / "bin" / "olah-cli"
    if not cli.is_file():
        raise RuntimeError(f"olah is not installed at {OLAH_VENV}: {SETUP_HINT}.")
    return cli


def publish(mirrors: Path, repo_id: str, files: dict[str, Path], message: str, tag: str | None = None,
            repo_type: str = "model") -> str:
    """Commit ``files`` (path in repo -> local file) to the mirror's git repo of ``repo_id`` (a ``model`` or
    ``dataset`` repository), return the commit id.

    Each call is one commit on ``main`` (created on first use) that replaces the named files.
    """
    repo = mirrors / f"{repo_type}s" / repo_id
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=repo, check=True)
    for path_in_repo, source in files.items():
        (repo / path_in_repo).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, repo / path_in_repo)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", message], cwd=repo, check=True)
    if tag:
        subprocess.run([*GIT, "tag", tag], cwd=repo, check=True)
    return subprocess.run([*GIT, "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


class OlahServer:
    """``with OlahServer(mirrors, workdir) as url:`` runs olah on a free 127.0.0.1 port until the block ends."""

    def __init__(self, mirrors: Path, workdir: Path, startup_timeout: float = 60.0) -> None:
        self.mirrors, self.workdir, self.startup_timeout = mirrors, workdir, startup_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        cli = olah_cli()
        port = _free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "olah.toml"
        config.write_text(
            "[basic]\n"
            f'host = "127.0.0.1"\nport = {port}\n'
            f'repos-path = "{self.workdir / "cache"}"\n'
            f'mirror-netloc = "127.0.0.1:{port}"\nmirror-lfs-netloc = "127.0.0.1:{port}"\n'
            # No upstream: point it at a closed local port, and run offline so it never tries.
            'hf-scheme = "http"\nhf-netloc = "127.0.0.1:9"\nhf-lfs-netloc = "127.0.0.1:9"\n'
            f'mirrors-path = ["{self.mirrors}"]\n'
            "[accessibility]\noffline = true\n"
        )
        self.log = self.workdir / "olah.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(cli), "-c", str(config), "--log-path", str(self.workdir / "logs")],
                                            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        self._wait_until_serving(url)
        return url

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _wait_until_serving(self, url: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olah exited with code {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/api/whoami-v2", timeout=2):
                    return
            except urllib.error.HTTPError:  # any HTTP answer (olah says 401 here) means it is serving
                return
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"olah did not answer on {url} within {self.startup_timeout:.0f} s: {self.log.read_text()[-3000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
