# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip bootstrap script that `ansible-test --venv` downloads from a host this machine
cannot reach. It installs the pip that CPython bundles (ensurepip), then lets that pip install what
ansible-test asked for (e.g. pip==25.2) from PyPI. tools/sanity.sh puts it where ansible-test looks for its
cached copy (~/.ansible/test/cache/get_pip_<version>.py)."""

import ensurepip
import os
import ssl
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")

ensurepip.bootstrap(upgrade=True)
arguments = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_OPTIONS]
# The bundled pip trusts only its own certifi bundle; ansible-test runs it with a filtered environment, so point it
# at the CA bundle the machine is configured with (as pip >= 24.2 does itself through the system trust store).
bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
if bundle and os.path.exists(bundle) and "--cert" not in arguments:
    arguments = ["--cert", bundle] + arguments
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + arguments))
