# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto in server mode, with two corrections so that kops can talk to it.

- moto 5.2.5 answers DescribeWarmPool for an Auto Scaling group that does not exist with an IndexError (HTTP 500),
  which the AWS SDK retries for ever; AWS answers ValidationError, which kops reads as "no warm pool".
- moto reports every instance of an Auto Scaling group on the launch template version that is the default *now*;
  AWS reports the version the instance was launched from. kops compares that with the group's version to find the
  instances that need a rolling update (NEEDUPDATE), so with moto as released it never found any. Here an instance
  keeps the version its group had when it was launched.
- moto keeps the UserData of a launch template version made by CreateLaunchTemplateVersion (what `kops update
  cluster` does on an upgrade) as a plain string, and then fails an assertion (HTTP 500) when its Auto Scaling
  group launches a replacement from that version: the rolling update never saw its replacements. Here that
  UserData is kept base64-encoded as moto does for CreateLaunchTemplate.

And one hook for the simulation: with CLUSTEROPS_API_ADDRESS_FILE set, the Network Load Balancer kops creates in
front of the Kubernetes API (``api-<cluster>-...``) reports the address in that file (``127.0.0.1:<port>`` of the
local control plane) as its DNS name, as if it forwarded there. kops >= 1.31 reaches the cluster only through that
load balancer (it builds its own admin credentials from the state store and ignores KUBECONFIG).

It serves moto's own WSGI application with waitress (HTTP/1.1 with keep-alive) rather than werkzeug's development
server, which closes every connection after one response: the AWS SDK for Go in kops then sporadically failed
with `deserialization failed, failed to decode response body, read tcp ...: use of closed network connection` on
a 200 response (aws/aws-sdk-go-v2#1825, #2737), failing `kops create`, `kops update` or `kops reconcile`.

Everything else is moto as released. Usage: python moto_server.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import argparse
import os
import sys

import waitress
from moto.autoscaling import exceptions, models
from moto.core.types import Base64EncodedString
from moto.ec2.models import launch_templates
from moto.elbv2 import models as elbv2_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

_describe_warm_pool = models.AutoScalingBackend.describe_warm_pool


def describe_warm_pool(self, group_name):
    if not self.describe_auto_scaling_groups([group_name]):
        raise exceptions.ValidationError("AutoScalingGroup name not found - %s" % group_name)
    return _describe_warm_pool(self, group_name)


models.AutoScalingBackend.describe_warm_pool = describe_warm_pool

_instance_state_init = models.InstanceState.__init__
_instance_launch_template = models.InstanceState.launch_template


def instance_state_init(self, *args, **kwargs):
    _instance_state_init(self, *args, **kwargs)
    group = self.auto_scaling_group
    template = group.ec2_launch_template if group is not None else None
    # The number of the version the group launches from now ($Latest, $Default or a number).
    self.launched_version = template.get_version(group.launch_template_version).number if template else None


def instance_launch_template(self):
    found = _instance_launch_template.fget(self)
    if found is not None and getattr(self, "launched_version", None) is not None:
        found["Version"] = self.launched_version
    return found


models.InstanceState.__init__ = instance_state_init

_version_init = launch_templates.LaunchTemplateVersion.__init__


def version_init(self, template, number, data, description):
    if isinstance(data.get("UserData"), str):
        data = dict(data, UserData=Base64EncodedString(data["UserData"]))
    _version_init(self, template, number, data, description)


launch_templates.LaunchTemplateVersion.__init__ = version_init


def _api_address():
    path = os.environ.get("CLUSTEROPS_API_ADDRESS_FILE")
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except (OSError, TypeError):
        return None


def _get_dns_name(self):
    address = _api_address() if self.name.startswith("api-") else None
    return address or self._dns_name


def _set_dns_name(self, value):
    self._dns_name = value


elbv2_models.FakeLoadBalancer.dns_name = property(_get_dns_name, _set_dns_name)
models.InstanceState.launch_template = property(instance_launch_template)


def main(argv):
    parser = argparse.ArgumentParser(description="moto server (waitress), with the corrections above")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(app, host=args.host, port=args.port, threads=8, ident="moto", _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
