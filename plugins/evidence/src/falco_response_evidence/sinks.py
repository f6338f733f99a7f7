"""Where archives go: a directory (``file://``) or an S3 bucket (``s3://``, boto3)."""

from __future__ import annotations

import os
from typing import Any

from .params import S3Params


class SinkError(Exception):
    """The archive could not be stored (the reason is safe to show: no credentials)."""


class FileSink:
    def __init__(self, directory: str) -> None:
        self.directory = directory

    @property
    def spool_dir(self) -> str | None:
        return self.directory if os.path.isdir(self.directory) else None

    def put(self, path: str, key: str) -> str:
        final = os.path.join(self.directory, *key.split("/"))
        try:
            os.makedirs(os.path.dirname(final), mode=0o750, exist_ok=True)
            os.replace(path, final)
        except OSError as exc:
            raise SinkError(f"could not write {final}: {exc.strerror or exc}") from None
        return f"file://{final}"


class S3Sink:
    spool_dir = None

    def __init__(self, bucket: str, settings: S3Params) -> None:
        self.bucket = bucket
        self.settings = settings
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", endpoint_url=self.settings.endpoint_url, region_name=self.settings.region,
                config=Config(retries={"max_attempts": 4, "mode": "standard"},
                              connect_timeout=5, read_timeout=30))
        return self._client

    def put(self, path: str, key: str) -> str:
        from boto3.s3.transfer import TransferConfig

        extra: dict[str, str] = {"ContentType": "application/gzip"}
        if self.settings.server_side_encryption:
            extra["ServerSideEncryption"] = self.settings.server_side_encryption
        if self.settings.sse_kms_key_id:
            extra["SSEKMSKeyId"] = self.settings.sse_kms_key_id
        if self.settings.storage_class:
            extra["StorageClass"] = self.settings.storage_class
        try:
            self.client().upload_file(path, self.bucket, key, ExtraArgs=extra,
                                      Config=TransferConfig(multipart_chunksize=8 * 1024 * 1024,
                                                            max_concurrency=2))
        except Exception as exc:
            raise SinkError(f"could not upload to s3://{self.bucket}/{key}: "
                            f"{type(exc).__name__}: {str(exc)[:300]}") from None
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        return f"s3://{self.bucket}/{key}"
