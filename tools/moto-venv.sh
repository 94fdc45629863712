#!/usr/bin/env bash
# Create (or reuse) the virtualenv of the moto server (the AWS endpoint for the kops tests) and print its path.
# Separate from tools/venv.sh: moto pins python-dateutil < 3 while the kubernetes client needs >= 3.
exec "$(dirname "$0")/pinned-venv.sh" moto-venv tests/moto-constraints.txt "moto[server]"
