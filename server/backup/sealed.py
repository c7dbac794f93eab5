"""Encrypting a backup with a passphrase, streamed, with `cryptography`'s AES-GCM and scrypt.

A backup holds every child's name and personal ID, so once it leaves the machine it should be
unreadable without a passphrase kept elsewhere (README "Backups and restore"). The archive is
cut into 1 MiB chunks, each sealed by AES-256-GCM under a key derived from the passphrase by
scrypt; the nonce of a chunk is a random prefix, the chunk's number and a final-chunk mark, so
a chunk that is changed, moved, dropped or cut off at the end fails to open (the "STREAM"
construction of Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and
its Nonce-Reuse Misuse-Resistance", 2015).

Layout: MAGIC, salt (16), log2 of scrypt's n (1), nonce prefix (7), then the sealed chunks;
every chunk but the last holds exactly CHUNK bytes, the last fewer (possibly none).
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"DIEMTUA-SEALED-1\n"
CHUNK = 1024 * 1024
TAG = 16
SALT = 16
PREFIX = 7
# scrypt with n = 2**17, r = 8 takes 128 MiB and about half a second: once per backup, and
# costly enough for anyone guessing passphrases offline.
LOG2_N = 17
MIN_PASSPHRASE = 12


class SealError(ValueError):
    """The passphrase is wrong, or the file was changed or cut short."""


def _key(passphrase: str, salt: bytes, log2_n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=8, p=1).derive(
        passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


class SealingWriter:
    """A write-only file that seals what it is given into `out`; `close()` writes the last chunk."""

    def __init__(self, out: BinaryIO, passphrase: str, log2_n: int = LOG2_N) -> None:
        if len(passphrase) < MIN_PASSPHRASE:
            raise SealError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
        salt, self._prefix = os.urandom(SALT), os.urandom(PREFIX)
        self._header = MAGIC + salt + bytes([log2_n]) + self._prefix
        self._aead = AESGCM(_key(passphrase, salt, log2_n))
        self._out = out
        self._buffer = bytearray()
        self._counter = 0
        self.closed = False
        out.write(self._header)

    def _seal(self, data: bytes, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._prefix, self._counter, last), data,
                                           self._header))
        self._counter += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._out.flush()
            self.closed = True


class OpeningReader:
    """A read-only file of the plain bytes of a sealed stream; every chunk is checked before
    any of its bytes are handed out, and a stream without its last chunk is an error."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        header = source.read(len(MAGIC) + SALT + 1 + PREFIX)
        if not is_sealed(header) or len(header) < len(MAGIC) + SALT + 1 + PREFIX:
            raise SealError("not an encrypted Điểm Tựa backup")
        salt = header[len(MAGIC):len(MAGIC) + SALT]
        log2_n = header[len(MAGIC) + SALT]
        self._prefix = header[-PREFIX:]
        self._header = header
        self._aead = AESGCM(_key(passphrase, salt, log2_n))
        self._source = source
        self._counter = 0
        self._plain = b""
        self._done = False

    def _next_chunk(self) -> None:
        sealed = self._source.read(CHUNK + TAG)
        last = len(sealed) < CHUNK + TAG
        try:
            self._plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed,
                                             self._header)
        except InvalidTag:
            problem = "wrong passphrase" if self._counter == 0 else "changed or cut short"
            raise SealError(f"cannot decrypt the backup: {problem}") from None
        self._counter += 1
        self._done = last

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size if size >= 0 else None
        while wanted is None or wanted > 0:
            if not self._plain:
                if self._done:
                    break
                self._next_chunk()
                continue
            take = self._plain if wanted is None else self._plain[:wanted]
            self._plain = self._plain[len(take):]
            parts.append(take)
            if wanted is not None:
                wanted -= len(take)
        return b"".join(parts)
