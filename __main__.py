"""The Pulumi program: stack config -> lab model -> components -> exports.

Until the infrastructure components land this only loads and validates the lab,
so `pulumi preview` fails early on a bad stack and declares nothing.
"""

import pulumi

from compatlab.lab import lab_from_config
from compatlab.paths import stack_file

config = pulumi.Config("compatlab")
lab = lab_from_config(
    {key: config.get_object(key) for key in ("expiry", "pools", "miniclusters", "workloads", "levels")
     if config.get(key) is not None},
    stack_file(pulumi.get_stack()),
)
pulumi.export("miniclusters", [mc.name for mc in lab.miniclusters])
