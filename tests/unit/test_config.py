from pathlib import Path

import pytest

from server.config import ConfigError, load_settings


def test_defaults_need_nothing_set(tmp_path: Path) -> None:
    settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'diemtua.sqlite3'}"
    assert settings.storage == "local"
    assert settings.max_submission_bytes == 100_000_000
    assert settings.public_url is None


def test_postgresql_urls_as_tools_write_them_use_psycopg3(tmp_path: Path) -> None:
    for written in ("postgresql://postgres@db/diemtua", "postgres://postgres@db/diemtua"):
        settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path),
                                  "DIEMTUA_DATABASE_URL": written})
        assert settings.database_url == "postgresql+psycopg://postgres@db/diemtua"


def test_libpq_variables_build_the_url_when_none_is_given(tmp_path: Path) -> None:
    settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path), "PGHOST": "db",
                              "PGUSER": "odk", "PGPASSWORD": "p@ss word", "PGDATABASE": "x"})
    assert settings.database_url == "postgresql+psycopg://odk:p%40ss%20word@db:5432/x"


def test_s3_is_chosen_when_central_s3_settings_are_present(tmp_path: Path) -> None:
    settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path), "S3_SERVER": "http://minio:9000",
                              "S3_BUCKET_NAME": "odk"})
    assert settings.storage == "s3"
    assert settings.s3.bucket == "odk"


def test_public_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path),
                              "DIEMTUA_PUBLIC_URL": "https://xa.example.vn/"})
    assert settings.public_url == "https://xa.example.vn"


@pytest.mark.parametrize("name,value", [("DIEMTUA_STORAGE", "ftp"),
                                        ("DIEMTUA_MAX_SUBMISSION_BYTES", "lots"),
                                        ("DIEMTUA_S3_PRESIGN_DOWNLOADS", "maybe")])
def test_unusable_values_stop_the_server_at_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        load_settings({"DIEMTUA_DATA_DIR": str(tmp_path), name: value})


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path)}).secret_key
    second = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) == 64
