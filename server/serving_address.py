"""Where this installation's server is reached, for commands that hand out phone URLs without
talking to the server themselves (`diemtua demo`, `diemtua app-user qr`).

`DIEMTUA_PUBLIC_URL` wins: it is the address phones use (README "First steps"). Without it,
`diemtua serve` leaves the address it listens on in the data folder (`serving.json`) as it
starts, so `HOST=0.0.0.0 PORT=8080 make serve` followed by `diemtua demo` prints URLs on port
8080, not on the default port. A server bound to every interface (0.0.0.0, ::) is reached at
this machine's own network address, the one a phone on the same network would use.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from server.config import Settings

FILE_NAME = "serving.json"
# Addresses a server binds to listen everywhere (compared, never bound to here).
EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})  # noqa: S104
# No packet is sent: connecting a UDP socket only asks the kernel which interface would route
# there, which names this machine's address on its network.
_ROUTE_PROBE = ("10.255.255.255", 1)


@dataclass(frozen=True)
class ServerBase:
    url: str
    # "public" (DIEMTUA_PUBLIC_URL), "serve" (what a started `diemtua serve` listens on) or
    # "browser" (the address a page was reached at).
    source: str

    @property
    def this_machine_only(self) -> bool:
        """A loopback address: right on this machine, never for a phone."""
        host = urlsplit(self.url).hostname or ""
        return host == "localhost" or host.startswith("127.") or host == "::1"


def record_serving(settings: Settings, host: str, port: int) -> None:
    """Called by `diemtua serve` as it starts: where it listens."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / FILE_NAME).write_text(json.dumps({"host": host, "port": port}),
                                               encoding="utf-8")


def _network_address() -> str:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_ROUTE_PROBE)
            address: str = probe.getsockname()[0]
            return address
    except OSError:  # no network at all: this machine is all there is
        return "127.0.0.1"


def recorded_base(settings: Settings) -> str | None:
    """`http://host:port` of the last `diemtua serve` started on this data folder, if any."""
    try:
        recorded = json.loads((settings.data_dir / FILE_NAME).read_text(encoding="utf-8"))
        host, port = str(recorded["host"]), int(recorded["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host in EVERY_INTERFACE:
        host = _network_address()
    if ":" in host:  # an IPv6 address goes in brackets
        host = f"[{host}]"
    return f"http://{host}:{port}"


def server_base(settings: Settings) -> ServerBase | None:
    """The public URL, else the address `diemtua serve` listens on; None when neither is known."""
    if settings.public_url:
        return ServerBase(settings.public_url.rstrip("/"), "public")
    recorded = recorded_base(settings)
    return ServerBase(recorded, "serve") if recorded else None


def reached_base(settings: Settings, host_url: str) -> ServerBase:
    """For a page handing out phone URLs (the phones page's QR codes): the public URL, else the
    address the browser reached the page at — the officer at the commune's PC and the phone
    on its network reach the server the same way, unless that address is this machine's own
    (`this_machine_only`), which the page then says."""
    if settings.public_url:
        return ServerBase(settings.public_url.rstrip("/"), "public")
    return ServerBase(host_url.rstrip("/"), "browser")
