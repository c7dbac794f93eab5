"""The app on a loopback port, as a process of its own, for tests that kill it.

`python -m tests.openrosa.serve` reads the usual DIEMTUA_* settings, prints the port it
listens on, and serves until it is killed.
"""

from __future__ import annotations

from werkzeug.serving import make_server

from server import create_app


def main() -> None:
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
