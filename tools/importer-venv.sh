#!/usr/bin/env bash
# Create (or reuse) the virtualenv of galaxy-importer (what Galaxy runs on an upload) and print its path.
# Its own pins (tests/importer-constraints.txt), apart from the main venv (tools/venv.sh).
exec "$(dirname "$0")/pinned-venv.sh" importer-venv tests/importer-constraints.txt galaxy-importer
