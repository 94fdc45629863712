#!/usr/bin/env bash
# ansible-test sanity for the collection copy in the current directory, in ansible-test's own venvs.
set -euo pipefail
venv=$1
here=$(cd "$(dirname "$0")" && pwd)
# the pip version ansible-test bootstraps into its venvs (get_venv_packages: pip='X')
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',/\1/p" "$venv"/lib/python*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
[ -n "$pip_version" ] || { echo "error: cannot find the pip version ansible-test bootstraps" >&2; exit 1; }
# ansible-test keeps its venvs and caches under ~/.ansible/test: give it a HOME inside the project's cache so the
# user's home is never written.
cache=${CLUSTEROPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterops-kops-upgrade}
export HOME="$cache/home/ansible-test"
mkdir -p "$HOME/.ansible/test/cache"
cp "$here/ansible_test_get_pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
PATH="$venv/bin:$PATH" ansible-test sanity --venv --python 3.12 --color no "${@:2}"
