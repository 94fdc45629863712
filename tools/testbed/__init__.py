# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project's test bed, one package on one import path (pytest.ini puts tools/ on it; tools/demo.py runs
beside it). Tools import it; it never imports the tests.

- ``local_cluster``: the real control plane as processes (etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler, kwok); also the one place for ROOT, CACHE (``$CLUSTEROPS_CACHE``) and the pinned versions
  (``versions()``, tools/localcluster/versions.env). Runs on its own too: tools/localcluster/up.sh, down.sh.
- ``kube``: the cluster-test library: API clients, the NTH reproduction (kOps#16870), watches instead of sleeps,
  running one of the collection's modules (``run_module``).
- ``workloads``: private node pools and the workloads the safety tests build on them; ``faults``: a TLS proxy and
  an API server the tests break on purpose; ``identities``: RBAC identities and running a playbook as one;
  ``bad_input``: bad values generated from the documented options; ``syslog_capture``: what modules log.
- ``api_objects``: API objects as plain dicts, as kube-apiserver serves them, for the unit tests of the pure logic
  and the benchmarks (no cluster).
- ``kops_world``: the real kops binary offline (``KopsWorld``: moto as AWS, an assets server, the state store,
  the kops recorder, what each kops invocation received); ``kops_cloud``: a kOps cluster that really lives on
  this machine (``KopsCloud``: a KopsWorld, the local control plane as its API, ``node_agent`` turning moto's
  instances into Nodes and running kOps' channels); ``moto_server``: moto's server with its corrections.
- ``awx_job``: a job as AWX runs it (ansible-runner, AWX's credential injection); ``upgrade_runs``: the upgrade
  playbook and the AWX job against a KopsCloud, as users run them.

See README.md here for the kOps cloud, tools/localcluster/README.md for the control plane.
"""
