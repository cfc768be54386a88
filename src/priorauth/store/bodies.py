"""How large stored payloads are kept: received bodies byte for byte and determination traces, both
compressed with Zstandard when that pays.

Why: a PAS request is mostly JSON that compresses about 10 to 1 (EX01: 64 kB to 6.4 kB). On SQLite
every stored byte is written twice (the WAL, then the checkpoint into the database file) and flushed
to disk; at concurrency 8 the request bodies were two thirds of those bytes, and the flushes stalled the
single writer (p99 on a RAM disk was half that on disk). Compression is lossless and the encoding is
recorded beside the bytes, so what was received is always recovered exactly; rows written before this
existed say ``identity``. A determination's trace (about 20 kB of JSON per item) is kept the same way
in its own binary column, the plain-text column left for rows written before.
"""

from __future__ import annotations

from typing import Literal

import zstandard

BodyEncoding = Literal["identity", "zstd"]

# Below this a compressed frame saves too little to be worth the call.
_SMALLEST = 1024
# Level 1: ~0.1 ms for 64 kB; the default level 3 saves only another 5% of the bytes.
_LEVEL = 1


def encode_body(body: bytes) -> tuple[bytes, BodyEncoding]:
    """The bytes to store for ``body`` and how they are encoded."""
    if len(body) < _SMALLEST:
        return body, "identity"
    # A compressor per call: they are not safe to share between threads, and making one costs ~7 µs.
    packed = zstandard.ZstdCompressor(level=_LEVEL).compress(body)
    if len(packed) >= len(body):
        return body, "identity"
    return packed, "zstd"


def decode_body(stored: bytes, encoding: str) -> bytes:
    """The body exactly as received, from what :func:`encode_body` stored."""
    if encoding == "identity":
        return stored
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompress(stored)
    raise ValueError(f"unknown body encoding {encoding!r} (expected 'identity' or 'zstd')")


def pack_text(text: str | bytes) -> bytes:
    """``text`` (or its UTF-8 bytes, as orjson writes them) as a Zstandard frame, for a ``*_packed`` column."""
    data = text.encode() if isinstance(text, str) else text
    return zstandard.ZstdCompressor(level=_LEVEL).compress(data)


def unpack_text(packed: bytes) -> str:
    """The text :func:`pack_text` packed."""
    return zstandard.ZstdDecompressor().decompress(packed).decode()
