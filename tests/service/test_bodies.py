"""Received bodies are kept exactly: compressed when that pays, readable whatever their encoding."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service_helpers import EXAMPLES

from priorauth.store.bodies import decode_body, encode_body, pack_text, unpack_text
from priorauth.store.db import open_database, upgrade
from priorauth.store.models import DeterminationRecord, ReceivedRequest


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b'{"resourceType":"Bundle"}\x00\xff',
        os.urandom(50_000),  # does not compress: kept as is
        b"(\xb5/\xfd" + os.urandom(5000),  # looks like a Zstandard frame, is not one
        (EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes(),
        b"x" * 5_000_000,
    ],
)
def test_every_body_comes_back_byte_for_byte(body: bytes) -> None:
    stored, encoding = encode_body(body)
    assert decode_body(stored, encoding) == body
    if encoding == "identity":
        assert stored == body


def test_json_bodies_are_compressed() -> None:
    body = (EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes()
    stored, encoding = encode_body(body)
    assert encoding == "zstd" and len(stored) < len(body) / 5


def test_an_unknown_encoding_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown body encoding 'gzip'"):
        decode_body(b"...", "gzip")


def test_rows_stored_before_the_encoding_column_read_back_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0300_authorized_units")
    body = b'{"resourceType":"Bundle","type":"collection"}' * 100
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute(
            "INSERT INTO received_request (id, received_at, operation, body, truncated, http_status)"
            " VALUES ('old', '2026-01-01 00:00:00.000000', 'submit', ?, 0, 200)",
            (body,),
        )
    upgrade(url)
    db = open_database(url)
    try:
        with db.read() as session:
            row = session.get(ReceivedRequest, "old")
            assert row is not None and row.body_encoding == "identity" and row.received_body() == body
        stored, encoding = encode_body(body)
        with db.write() as session:
            session.add(
                ReceivedRequest(
                    id="new",
                    received_at=datetime(2026, 1, 2, tzinfo=UTC),
                    operation="submit",
                    body=stored,
                    body_encoding=encoding,
                    http_status=200,
                )
            )
        with db.read() as session:
            row = session.get(ReceivedRequest, "new")
            assert row is not None and row.body_encoding == "zstd" and row.received_body() == body
    finally:
        db.dispose()
    # A downgrade would strand the compressed body: refused.
    with pytest.raises(RuntimeError, match="stored compressed"):
        from alembic import command
        from alembic.config import Config

        from priorauth.store.db import migrations_dir

        config = Config()
        config.set_main_option("script_location", str(migrations_dir()))
        config.attributes["url"] = url
        command.downgrade(config, "0300_authorized_units")


def test_a_trace_reads_back_from_either_column() -> None:
    trace = '{"policy_id":"CP.PHAR.685","trace":{"id":"I","status":"met","text":"Tarlatamab \\u00e9"}}'
    packed = pack_text(trace)
    assert len(packed) < len(trace.encode()) * 2 and unpack_text(packed) == trace
    assert DeterminationRecord(trace=None, trace_packed=packed).trace_json() == trace
    assert DeterminationRecord(trace=trace, trace_packed=None).trace_json() == trace  # written before packing
    assert DeterminationRecord(trace=None, trace_packed=None).trace_json() is None
    carried = DeterminationRecord(trace=None, trace_packed=packed).trace_columns()
    assert DeterminationRecord(**carried).trace_json() == trace
