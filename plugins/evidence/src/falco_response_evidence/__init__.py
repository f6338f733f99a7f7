"""falco-response plugin: ``collect-evidence`` (before containment destroys it).

Registering imports neither ``kubernetes``, boto3 nor botocore: they load on the first alert.
"""

from __future__ import annotations

from falco_response import RegisterAction, hookimpl

from .collect import make_collect_evidence
from .params import EvidenceParams, S3Params

PERMISSIONS = [
    "pods: get (cluster-wide: list, for container.id lookups on one node)",
    "pods/log: get",
    "events: list (the pod's, by field selector)",
    "nodes: get (the node's summary)",
    "namespaces: get (the ignore annotation)",
    "replicasets, deployments, statefulsets, daemonsets (apps), jobs, cronjobs (batch): get "
    "(the owner chain)",
    "s3:PutObject on the sink's prefix (s3:// sinks; kms:GenerateDataKey with aws:kms)",
]


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register("collect-evidence", make_collect_evidence, params=EvidenceParams,
             destructive=False, permissions=PERMISSIONS,
             summary="Archives the pod, its owners, logs, events and node, with the alert "
                     "(tar.gz + sha256 manifest) to a directory or S3.")


__all__ = ["EvidenceParams", "S3Params", "make_collect_evidence", "register_actions"]
