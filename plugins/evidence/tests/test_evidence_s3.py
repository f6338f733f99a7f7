"""collect-evidence to S3: moto server on 127.0.0.1, through endpoint_url, with SSE."""

from __future__ import annotations

import boto3
from evidence_support import evidence_pod, open_archive

from falco_response import Status
from falco_response_testing.kubernetes import outcome_of, pod_alert

UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def test_uploads_the_archive_with_server_side_encryption(cluster, engine_for, moto_endpoint,
                                                         tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="forensics")
    pod = evidence_pod(cluster)
    params = {"sink": "s3://forensics/falco/evidence", "cluster_name": "prod",
              "s3": {"endpoint_url": moto_endpoint, "region": "us-east-1",
                     "server_side_encryption": "AES256"}}
    payload = {**pod_alert("default", pod["metadata"]["name"]), "uuid": UUID}
    out = outcome_of(engine_for("collect-evidence", params), payload)
    assert out.status is Status.OK, out
    uri = out.detail["evidence"]["uri"]
    key = uri.removeprefix("s3://forensics/")
    assert key.startswith(f"falco/evidence/prod/default/{pod['metadata']['name']}/")
    assert key.endswith(f"-{UUID}.tar.gz")
    head = s3.head_object(Bucket="forensics", Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == out.detail["evidence"]["size"]
    assert head["ContentType"] == "application/gzip"
    local = tmp_path / "got.tar.gz"
    s3.download_file("forensics", key, str(local))
    manifest, files = open_archive(str(local))
    assert manifest["alert"]["uuid"] == UUID and "logs/web.log" in files


def test_an_unreachable_bucket_is_a_failed_outcome_without_credentials(cluster, engine_for,
                                                                      moto_endpoint):
    pod = evidence_pod(cluster)
    params = {"sink": "s3://no-such-bucket/x",
              "s3": {"endpoint_url": moto_endpoint, "region": "us-east-1"}}
    out = outcome_of(engine_for("collect-evidence", params),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.FAILED
    assert out.reason.startswith("evidence collected but not stored: could not upload to "
                                 "s3://no-such-bucket/")
    assert "NoSuchBucket" in out.reason and "testing" not in out.reason


def test_kms_settings_are_passed_through(cluster, engine_for, moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="forensics-kms")
    key_id = kms.create_key(Description="evidence")["KeyMetadata"]["KeyId"]
    pod = evidence_pod(cluster)
    params = {"sink": "s3://forensics-kms/ev",
              "s3": {"endpoint_url": moto_endpoint, "region": "us-east-1",
                     "server_side_encryption": "aws:kms", "sse_kms_key_id": key_id,
                     "storage_class": "STANDARD_IA"}}
    out = outcome_of(engine_for("collect-evidence", params),
                     pod_alert("default", pod["metadata"]["name"]))
    assert out.status is Status.OK, out
    key = out.detail["evidence"]["uri"].removeprefix("s3://forensics-kms/")
    head = s3.head_object(Bucket="forensics-kms", Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]
    assert head["StorageClass"] == "STANDARD_IA"
