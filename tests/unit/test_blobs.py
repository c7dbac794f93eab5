import pytest

from server.operations.blobs import clean_content_type


@pytest.mark.parametrize("sent,kept", [
    ("image/jpeg", "image/jpeg"),
    ("text/csv; charset=utf-8", "text/csv; charset=utf-8"),
    ("image/jpeg\r\nX-Injected: 1", "application/octet-stream"),
    ("ảnh/jpeg", "application/octet-stream"),
    ("", "application/octet-stream"),
    (None, "application/octet-stream"),
])
def test_only_well_formed_media_types_are_kept(sent: str | None, kept: str) -> None:
    assert clean_content_type(sent) == kept
