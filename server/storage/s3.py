"""Blobs in an S3-compatible bucket (AWS, MinIO, Garage …) through boto3.

Downloads may be answered with a redirect to a presigned URL, as ODK Central does (307), so
large photos do not pass through the application server; the presigned URL carries its own
authorisation, so Collect's dropping of `Authorization` on cross-host redirects does not matter.
"""

from __future__ import annotations

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


class S3BlobStore:
    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.server,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            region_name=settings.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        self._bucket_checked = False

    def _key(self, key: str) -> str:
        return f"blobs/{key[:2]}/{key}"

    def ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
                raise StorageError(f"S3 bucket {self.bucket}: {exc}") from exc
            self.client.create_bucket(Bucket=self.bucket)
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable: {exc}") from exc
        self._bucket_checked = True

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        self.ensure_bucket()
        try:
            # put_object is one request and is atomic: the object appears whole or not at all.
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=stream.read() if size <= 8 * CHUNK else stream,
                ContentLength=size,
                ContentType=content_type,
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
        finally:
            body.close()

    def read(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        if not self.settings.presign_downloads:
            return None
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
                "ResponseContentDisposition": attachment_disposition(filename),
            },
            ExpiresIn=PRESIGNED_SECONDS,
        )
        return url

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 bucket {self.bucket} not reachable: {exc}") from exc
