#!/usr/bin/env bash
# Makes the Python environment of the OpenAPI conformance check (tests/openapi/check.py):
# a venv at $1 (default: ~/.cache/credithub/openapi-venv) with openapi-core and requests
# from PyPI. Does nothing when the venv already has them.
set -euo pipefail
venv="${1:-${HOME}/.cache/credithub/openapi-venv}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$venv/bin/python3" ] && "$venv/bin/python3" -c 'import openapi_core, requests' 2>/dev/null; then
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 is not installed (deploy/install-build-deps.sh installs it)" >&2; exit 1; }
echo "making the OpenAPI check's Python environment in $venv" >&2
python3 -m venv "$venv"
"$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
