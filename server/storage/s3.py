"""Blobs in an S3-compatible bucket (AWS, MinIO, Garage …) through boto3.

Downloads may be answered with a redirect to a presigned URL, as ODK Central does (307), so
large photos do not pass through the application server; the presigned URL carries its own
authorisation, so Collect's dropping of `Authorization` on cross-host redirects does not matter.
A presigned URL names the host of `S3_SERVER`, so it only helps when that host is reachable by
the client too (not `http://minio:9000` inside a compose network).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.config import S3Settings
from server.httputil import attachment_disposition
from server.storage import StorageError

CHUNK = 1024 * 1024
PRESIGNED_SECONDS = 300
# Up to this size the body is sent from memory; above it boto3 streams from the file, so a
# 100 MB upload never sits in memory twice.
IN_MEMORY_PUT_BYTES = 8 * CHUNK
FALLBACK_CONTENT_TYPE = "application/octet-stream"
# Content types come from phones' multipart headers. A header must be printable ASCII: http.client
# sends non-ASCII as mojibake and refuses CR/LF, so anything else is stored as octet-stream.
_HEADER_SAFE = re.compile(r"[\x20-\x7e]{1,255}")
_MISSING = {"404", "NoSuchBucket", "NoSuchKey", "NotFound"}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def header_safe_content_type(content_type: str) -> str:
    return content_type if _HEADER_SAFE.fullmatch(content_type) else FALLBACK_CONTENT_TYPE


class S3BlobStore:
    def __init__(
        self, settings: S3Settings, *, connect_timeout: float = 5, max_attempts: int = 3
    ) -> None:
        """`connect_timeout` and `max_attempts` apply to reads and writes of blobs."""
        self.settings = settings
        self.bucket = settings.bucket
        self.client: Any = self._make_client(connect_timeout, 60, max_attempts)
        # /readyz must answer within a probe's timeout even when S3 is down, while uploads from
        # phones deserve retries: the readiness check gets its own impatient client.
        self.probe_client: Any = self._make_client(min(connect_timeout, 2), 5, 1)
        self._bucket_checked = False

    def _make_client(self, connect_timeout: float, read_timeout: float, attempts: int) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.settings.server,
            aws_access_key_id=self.settings.access_key,
            aws_secret_access_key=self.settings.secret_key,
            region_name=self.settings.region,
            config=Config(
                signature_version="s3v4",
                # MinIO and most self-hosted stores serve buckets as paths, not sub-domains.
                s3={"addressing_style": "path"},
                retries={"max_attempts": attempts, "mode": "standard"},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
        )

    def _key(self, key: str) -> str:
        return f"blobs/{key[:2]}/{key}"

    def _head_or_create_bucket(self, client: Any) -> None:
        try:
            client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING:
                raise StorageError(f"S3 bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from exc
        create: dict[str, Any] = {"Bucket": self.bucket}
        # AWS refuses a bare CreateBucket outside us-east-1; MinIO accepts either form.
        if self.settings.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            client.create_bucket(**create)
        except ClientError as exc:
            # Another worker created it between our HEAD and PUT.
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise StorageError(f"could not create S3 bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket on first use, so a fresh MinIO needs no manual step."""
        if not self._bucket_checked:
            self._head_or_create_bucket(self.client)
            self._bucket_checked = True

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        self.ensure_bucket()
        try:
            # put_object is one request and is atomic: the object appears whole or not at all.
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=stream.read() if size <= IN_MEMORY_PUT_BYTES else stream,
                ContentLength=size,
                ContentType=header_safe_content_type(content_type),
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store blob {key} in S3: {exc}") from exc

    def open(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not read blob {key} from S3: {exc}") from exc
        body = response["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        except BotoCoreError as exc:
            raise StorageError(f"reading blob {key} from S3 broke off: {exc}") from exc
        finally:
            body.close()

    def read(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            # A 403 or 500 is not "missing": saying so would make callers rewrite or drop data.
            raise StorageError(f"could not look up blob {key} in S3: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from exc
        return True

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not delete blob {key} from S3: {exc}") from exc

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        if not self.settings.presign_downloads:
            return None
        # Signing is local computation: no request is made, so this cannot fail on the network.
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": header_safe_content_type(content_type),
                "ResponseContentDisposition": attachment_disposition(filename),
            },
            ExpiresIn=PRESIGNED_SECONDS,
        )
        return url

    def free_bytes(self) -> int | None:
        return None

    def check(self) -> None:
        """Reachable, credentials accepted, bucket present (created if missing, as put would)."""
        self._head_or_create_bucket(self.probe_client)
        self._bucket_checked = True
