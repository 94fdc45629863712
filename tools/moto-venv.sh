#!/usr/bin/env bash
# Create (or reuse) the virtualenv of the moto server (the AWS endpoint for the kops tests) and print its path.
# Separate from tools/venv.sh: moto pins python-dateutil < 3 while the kubernetes client needs >= 3.
# waitress serves moto with keep-alive (werkzeug's close-after-each-response broke kops' AWS SDK connections).
exec "$(dirname "$0")/pinned-venv.sh" moto-venv tests/moto-constraints.txt "moto[server]" waitress
