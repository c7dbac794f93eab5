"""Absolute URLs handed to phones: form downloads, manifests, media files.

They start from `api_base()`, which keeps the `/v1/key/<token>` prefix of app-user URLs: a phone
set up with a key URL sends no other credentials, so a URL without the key would be anonymous
(Central builds them from `originalUrl` the same way, B-forms `formList`/`manifest`).
"""

from __future__ import annotations

from urllib.parse import quote

from server.context import api_base


def _component(text: str) -> str:
    """JavaScript's encodeURIComponent, which Central applies to form ids and file names."""
    return quote(text, safe="!*'()")


def form_base_url(project_id: int, xml_form_id: str) -> str:
    return f"{api_base()}/projects/{project_id}/forms/{_component(xml_form_id)}"


def form_download_url(project_id: int, xml_form_id: str) -> str:
    return f"{form_base_url(project_id, xml_form_id)}.xml"


def manifest_url(project_id: int, xml_form_id: str) -> str:
    return f"{form_base_url(project_id, xml_form_id)}/manifest"


def media_url(project_id: int, xml_form_id: str, name: str) -> str:
    return f"{form_base_url(project_id, xml_form_id)}/attachments/{_component(name)}"


def integrity_url(project_id: int, dataset: str) -> str:
    return f"{api_base()}/projects/{project_id}/datasets/{_component(dataset)}/integrity"
