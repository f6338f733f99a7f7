"""``collect-evidence`` parameters, validated at config load."""

from __future__ import annotations

import re
from typing import Literal, Union
from urllib.parse import urlsplit

import msgspec

from falco_response_kubernetes import ConnectionParams, check_connection

MIB = 1024 * 1024
_CLUSTER = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]*")


class S3Params(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """S3 settings, passed through to boto3 (credentials come from its usual chain)."""

    endpoint_url: Union[str, None] = None      # MinIO, Ceph, any S3-compatible store
    region: Union[str, None] = None
    server_side_encryption: Union[Literal["AES256", "aws:kms", "aws:kms:dsse"], None] = None
    sse_kms_key_id: Union[str, None] = None
    storage_class: Union[str, None] = None


class EvidenceParams(ConnectionParams, forbid_unknown_fields=True, omit_defaults=True):
    sink: str = ""
    max_log_bytes: int = MIB
    max_total_bytes: int = 256 * MIB
    previous_logs: bool = True
    max_events: int = 200
    cluster_name: Union[str, None] = None
    s3: S3Params = msgspec.field(default_factory=S3Params)


def cluster_label(params: EvidenceParams) -> str:
    if params.cluster_name:
        return params.cluster_name
    if params.cluster.eks is not None:
        return params.cluster.eks.cluster_name
    return params.cluster.context or "default"


def check(params: EvidenceParams) -> tuple[str, str, str]:
    """(scheme, bucket or directory, key prefix); ``ValueError`` says what is wrong."""
    check_connection(params)
    if params.record_event:
        raise ValueError("record_event: collect-evidence only reads (its ClusterRole cannot "
                         "create Events)")
    if params.max_log_bytes < 1024:
        raise ValueError("max_log_bytes must be at least 1024")
    if params.max_total_bytes < params.max_log_bytes:
        raise ValueError("max_total_bytes must be at least max_log_bytes")
    if not 0 <= params.max_events <= 10000:
        raise ValueError("max_events must be between 0 and 10000")
    if not _CLUSTER.fullmatch(cluster_label(params)):
        raise ValueError("cluster_name: letters, digits, '.', '_' and '-' only (it is part "
                         "of the object key)")
    url = urlsplit(params.sink)
    if url.scheme == "file":
        if url.netloc or not url.path.startswith("/"):
            raise ValueError("sink: a file sink is file:///absolute/directory")
        return "file", url.path, ""
    if url.scheme == "s3":
        if not _BUCKET.fullmatch(url.netloc):
            raise ValueError(f"sink: {url.netloc!r} is not an S3 bucket name")
        prefix = url.path.strip("/")
        if not _PREFIX.fullmatch(prefix) or ".." in prefix.split("/"):
            raise ValueError("sink: the S3 prefix may hold letters, digits and !_.*'()/- only")
        if url.query or url.fragment:
            raise ValueError("sink: no query or fragment in an s3:// URL (use the s3: block)")
        if params.s3.sse_kms_key_id and params.s3.server_side_encryption not in (
                "aws:kms", "aws:kms:dsse"):
            raise ValueError("s3.sse_kms_key_id needs s3.server_side_encryption: aws:kms")
        if params.s3.endpoint_url is not None and \
                urlsplit(params.s3.endpoint_url).scheme not in ("http", "https"):
            raise ValueError("s3.endpoint_url must be an http(s):// URL")
        return "s3", url.netloc, prefix
    raise ValueError("sink: give file:///directory or s3://bucket/prefix")
