# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto in server mode, with one correction so that kops can talk to it.

moto 5.2.5 answers DescribeWarmPool for an Auto Scaling group that does not exist with an IndexError (HTTP 500),
which the AWS SDK retries for ever; AWS answers ValidationError, which kops reads as "no warm pool". Everything
else is moto as released. Usage: python moto_server.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys

from moto.autoscaling import exceptions, models
from moto.server import main

_describe_warm_pool = models.AutoScalingBackend.describe_warm_pool


def describe_warm_pool(self, group_name):
    if not self.describe_auto_scaling_groups([group_name]):
        raise exceptions.ValidationError("AutoScalingGroup name not found - %s" % group_name)
    return _describe_warm_pool(self, group_name)


models.AutoScalingBackend.describe_warm_pool = describe_warm_pool

if __name__ == "__main__":
    main(sys.argv[1:])
