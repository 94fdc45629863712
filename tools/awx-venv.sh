#!/usr/bin/env bash
# Create (or reuse) the virtualenv of the AWX tooling (ansible-builder, ansible-runner) and print its path.
# Separate from tools/venv.sh so that its pins do not rebuild the main venv; ansible-runner runs the main venv's
# ansible-playbook (put that venv's bin/ after this one's on PATH).
exec "$(dirname "$0")/pinned-venv.sh" awx-venv tests/awx-constraints.txt ansible-builder ansible-runner
