"""S3BlobStore against moto's S3 server over real HTTP: what MinIO or AWS would see."""

from __future__ import annotations

import hashlib
import io
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from server.config import Settings
from server.httputil import attachment_disposition
from server.storage import StorageError
from server.storage.s3 import FALLBACK_CONTENT_TYPE, IN_MEMORY_PUT_BYTES, S3BlobStore
from tests.storage.s3_server import object_keys

HOUSEHOLD_CSV = "Họ và tên,Thôn,Hoàn cảnh đặc biệt\nNguyễn Thị Hằng,Thôn Đồng Tâm,có\n"
INSTANCE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><data id="household_screening">'
    "<ten_tre>Lê Văn Đức</ten_tre><thon>Bản Khê</thon></data>"
)


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_bytes(store: S3BlobStore, data: bytes, content_type: str) -> str:
    key = key_of(data)
    store.put(key, io.BytesIO(data), len(data), content_type)
    return key


@pytest.fixture
def store(s3_settings: Settings) -> S3BlobStore:
    return S3BlobStore(s3_settings.s3)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections are refused at once, and no other
    process can take the port while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def plain_get(url: str) -> Any:
    """GET with no credentials and no proxy, as a phone or browser following a redirect."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(urllib.request.Request(url), timeout=10)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/csv; charset=utf-8", HOUSEHOLD_CSV.encode("utf-8")),
        ("application/xml", INSTANCE_XML.encode("utf-8")),
        ("image/jpeg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64),
    ],
)
def test_blob_round_trip_keeps_bytes_and_content_type(
    store: S3BlobStore, s3_client: Any, content_type: str, data: bytes
) -> None:
    key = put_bytes(store, data, content_type)
    assert store.exists(key)
    assert store.read(key) == data
    assert b"".join(store.open(key)) == data
    head = s3_client.head_object(Bucket=store.bucket, Key=f"blobs/{key[:2]}/{key}")
    assert head["ContentType"] == content_type
    assert head["ContentLength"] == len(data)


def test_bucket_is_created_on_first_write(store: S3BlobStore, s3_client: Any) -> None:
    with pytest.raises(ClientError):
        s3_client.head_bucket(Bucket=store.bucket)
    key = put_bytes(store, HOUSEHOLD_CSV.encode(), "text/csv")
    s3_client.head_bucket(Bucket=store.bucket)
    assert object_keys(s3_client, store.bucket) == [f"blobs/{key[:2]}/{key}"]


def test_readiness_check_creates_a_missing_bucket(store: S3BlobStore, s3_client: Any) -> None:
    store.check()
    s3_client.head_bucket(Bucket=store.bucket)
    assert object_keys(s3_client, store.bucket) == []


def test_a_bucket_made_by_someone_else_is_used_as_it_is(
    s3_settings: Settings, s3_client: Any
) -> None:
    s3_client.create_bucket(Bucket=s3_settings.s3.bucket)
    store = S3BlobStore(s3_settings.s3)
    key = put_bytes(store, b"xin chao", "text/plain")
    assert store.read(key) == b"xin chao"


def test_a_missing_blob_does_not_exist_and_cannot_be_read(store: S3BlobStore) -> None:
    store.ensure_bucket()
    absent = key_of(b"never stored")
    assert not store.exists(absent)
    with pytest.raises(StorageError):
        store.read(absent)


def test_a_content_type_that_cannot_be_a_header_is_stored_as_octet_stream(
    store: S3BlobStore, s3_client: Any
) -> None:
    # A phone's multipart part header can carry anything; S3 headers must be printable ASCII.
    for unsafe in ('text/plain; name="hồ sơ.txt"', "image/jpeg\r\nX-Injected: 1"):
        data = unsafe.encode("utf-8")
        key = put_bytes(store, data, unsafe)
        head = s3_client.head_object(Bucket=store.bucket, Key=f"blobs/{key[:2]}/{key}")
        assert head["ContentType"] == FALLBACK_CONTENT_TYPE
        assert store.read(key) == data


class ReadRecorder(io.RawIOBase):
    """A file that remembers the largest single read asked of it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position: int = self.inner.seek(offset, whence)
        return position

    def tell(self) -> int:
        position: int = self.inner.tell()
        return position

    def read(self, size: int | None = -1) -> bytes:
        unbounded = size is None or size < 0
        self.largest_read = max(self.largest_read, 1 << 62 if unbounded else size or 0)
        data: bytes = self.inner.read(size)
        return data


def test_a_large_blob_is_streamed_from_its_file_not_read_whole(store: S3BlobStore) -> None:
    size = IN_MEMORY_PUT_BYTES + 123_457
    with tempfile.TemporaryFile() as spooled:
        # Not repetitive, so a broken chunk boundary would show in the digest.
        block = hashlib.sha256(b"anh").digest() * 4096
        while spooled.tell() < size:
            spooled.write(block[: size - spooled.tell()])
        spooled.seek(0)
        digest = hashlib.sha256(spooled.read()).hexdigest()
        spooled.seek(0)
        recorder = ReadRecorder(spooled)
        store.put(digest, recorder, size, "video/mp4")  # type: ignore[arg-type]
    assert recorder.largest_read < size
    stored = hashlib.sha256()
    total = 0
    for chunk in store.open(digest):
        stored.update(chunk)
        total += len(chunk)
    assert (total, stored.hexdigest()) == (size, digest)


def test_presigned_download_works_over_plain_http_with_the_vietnamese_filename(
    store: S3BlobStore,
) -> None:
    data = HOUSEHOLD_CSV.encode("utf-8")
    key = put_bytes(store, data, "text/csv; charset=utf-8")
    filename = "Danh sách trẻ em – Thôn Đồng Tâm.csv"
    url = store.download_url(key, filename, "text/csv; charset=utf-8")
    assert url is not None

    with plain_get(url) as response:
        body = response.read()
        disposition = response.headers["Content-Disposition"]
        content_type = response.headers["Content-Type"]
    assert body == data
    assert content_type == "text/csv; charset=utf-8"
    assert disposition == attachment_disposition(filename)
    # What a browser saves the file as (RFC 6266: filename* wins over filename).
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded, encoding="utf-8") == filename


def test_a_presigned_url_does_not_work_for_another_object(store: S3BlobStore) -> None:
    key = put_bytes(store, b"bao mat", "text/plain")
    other = put_bytes(store, b"khac", "text/plain")
    url = store.download_url(key, "a.txt", "text/plain")
    assert url is not None
    with pytest.raises(urllib.error.HTTPError) as refused:
        plain_get(url.replace(key, other))
    refused.value.close()
    assert refused.value.code == 403


def test_presigned_downloads_can_be_turned_off(s3_settings: Settings) -> None:
    store = S3BlobStore(replace(s3_settings.s3, presign_downloads=False))
    assert store.download_url(key_of(b"x"), "x.txt", "text/plain") is None


def test_a_dead_endpoint_raises_storage_error_quickly(
    s3_settings: Settings, closed_port: int
) -> None:
    dead = replace(s3_settings.s3, server=f"http://127.0.0.1:{closed_port}")
    store = S3BlobStore(dead, connect_timeout=0.5, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(StorageError):
        store.check()
    with pytest.raises(StorageError):
        store.exists(key_of(b"x"))
    with pytest.raises(StorageError):
        put_bytes(store, b"x", "text/plain")
    with pytest.raises(StorageError):
        store.read(key_of(b"x"))
    assert time.monotonic() - started < 5
