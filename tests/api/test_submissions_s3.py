"""Submission attachments stored in S3 (moto over real HTTP): downloads redirect, as Central's."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests
from flask.testing import FlaskClient

from server.services import Services
from tests.conftest import PNG_BYTES, Screening, new_instance_id, screening_xml


@pytest.fixture
def services(s3_services: Services) -> Services:
    return s3_services


def test_attachment_download_redirects_to_a_presigned_url(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    instance_id = screening.submit(screening_xml(new_instance_id(), "Đàm Văn Chiến",
                                                 photo="nha.png"), {"nha.png": PNG_BYTES})

    response = client.get(f"{screening.base}/submissions/{instance_id}/attachments/nha.png",
                          headers=admin_headers)

    assert response.status_code == 307
    fetched = requests.get(response.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PNG_BYTES


def test_zip_export_reads_media_from_s3(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    screening.submit(screening_xml(new_instance_id(), "Đàm Thị Vân", photo="nha.png"),
                     {"nha.png": PNG_BYTES})

    response = client.get(f"{screening.base}/submissions.csv.zip", headers=admin_headers)

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.read("media/nha.png") == PNG_BYTES
