"""The QR code that sets up ODK Collect for one app user (one phone).

Collect reads a QR code holding base64(zlib(JSON settings)) — the format of Central's "managed
QR code" (central-frontend src/components/collect-qr.vue and field-key/qr-panel.vue; ODK docs
"collect-import-export"). The settings have three parts: `general` (server and behaviour),
`admin` (what the person holding the phone may change) and `project` (name, icon, colour in
Collect's project switcher).
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from typing import Any
from urllib.parse import quote

import segno

# Collect's project colours are "#rrggbb"; one per project id so phones serving two communes
# tell them apart at a glance.
PALETTE = ("#1e6f5c", "#c0392b", "#2e86c1", "#8e44ad", "#d68910", "#117a65", "#5d6d7e",
           "#a04000")
# Prefixes of Vietnamese commune-level names, skipped when picking the icon letter.
_UNIT_WORDS = ("xã", "phường", "thị trấn", "đặc khu")


def collect_url(public_base: str, token: str, project_id: int) -> str:
    """The server URL Collect stores: Central's app-user key URL."""
    return f"{public_base.rstrip('/')}/v1/key/{token}/projects/{project_id}"


def project_icon(project_name: str) -> str:
    """One letter for Collect's project icon: "Xã Hòa Bình" → "H", not the "X" of every xã."""
    name = project_name.strip()
    for word in _UNIT_WORDS:
        if name.lower().startswith(word + " "):
            name = name[len(word):].strip()
            break
    return (name[:1] or "Đ").upper()


def collect_settings(server_url: str, project_name: str, project_id: int,
                     username: str | None = None) -> dict[str, Any]:
    """Central's managed settings plus a locked server URL and a project icon and colour.

    `match_exactly` keeps the phone's forms equal to its assignments and `autosend` sends
    finalized forms as soon as there is a network; `delete_send` removes a submission from the
    phone once the server has it (docs/privacy.md §6); `change_server: false`
    stops the person holding the phone from pointing it elsewhere. `metadata_username` (the
    app user's name) fills the forms' `username` metadata (the screening form's enumerator).
    """
    general: dict[str, Any] = {"server_url": server_url, "form_update_mode": "match_exactly",
                               "autosend": "wifi_and_cellular", "delete_send": True}
    if username:
        general["metadata_username"] = username
    return {
        "general": general,
        "admin": {"change_server": False},
        "project": {"name": project_name, "icon": project_icon(project_name),
                    "color": PALETTE[project_id % len(PALETTE)]},
    }


def draft_test_url(public_base: str, draft_token: str, project_id: int,
                   xml_form_id: str) -> str:
    """Central's draft-testing server URL: the draft alone, reached by its draft token."""
    # Form ids escaped as JavaScript's encodeURIComponent, as Central and `server.openrosa.urls`.
    form = quote(xml_form_id, safe="!*'()")
    base = public_base.rstrip("/")
    return f"{base}/v1/test/{draft_token}/projects/{project_id}/forms/{form}/draft"


def draft_test_settings(server_url: str, form_title: str) -> dict[str, Any]:
    """A separate Collect project for trying a draft, as Central's draft QR code: forms are
    fetched by hand and never sent on their own (the server keeps no test submissions,
    `server.openrosa.draft_test`), and the project's name says it is a draft."""
    return {
        "general": {"server_url": server_url, "form_update_mode": "manual",
                    "autosend": "off"},
        "admin": {"change_server": False},
        "project": {"name": f"[Bản nháp] {form_title}", "icon": "N", "color": "#7f8c8d"},
    }


def encode_settings(settings: dict[str, Any]) -> str:
    """The text inside the QR code: base64 of the zlib-compressed UTF-8 JSON."""
    text = json.dumps(settings, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decode_settings(payload: str) -> dict[str, Any]:
    """The settings back from a QR payload (tests, and checking a printed code)."""
    decoded: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(payload)))
    return decoded


def qr_png(payload: str, scale: int = 6) -> bytes:
    """A PNG of the QR code; error correction L like Central's, so the code stays small."""
    code = segno.make(payload, error="l", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
