#!/usr/bin/env bash
# Create the separate virtual environment that runs olah (a self-hosted Hub mirror, from PyPI)
# for tests/test_hub_download.py. It is kept apart from the project's environment because olah
# pins its own web stack. Usage: bash tests/hub_servers/setup_olah.sh [VENV_DIR]
# The default VENV_DIR is .venv-olah in the repository root, where the tests look (override both
# with UCIP_OLAH_VENV). Re-running it on an existing, working venv does nothing.
set -euo pipefail

OLAH_VERSION="0.5.4"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-${UCIP_OLAH_VENV:-$repo_root/.venv-olah}}"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/olah-cli" ] && "$venv/bin/python" -c "import olah, importlib.metadata as m; assert m.version('olah') == '$OLAH_VERSION'" 2>/dev/null; then
    echo "olah $OLAH_VERSION already set up in $venv"
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "olah==$OLAH_VERSION"
"$venv/bin/python" -c "import olah, importlib.metadata as m; print('olah', m.version('olah'), 'ready in', '$venv')"
