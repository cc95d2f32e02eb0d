"""The PostgreSQL COPY path's CSV encoding, run one chunk ahead in a thread (warehouse._csv_chunks_ahead).

Nothing here needs a server: the COPY itself is covered by every PostgreSQL integration test
(and the fault tests kill it mid-stream); these pin that the threaded encoder sends exactly the
bytes of the in-line one, raises its errors in the caller, and never outlives the COPY.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from parkops import warehouse


def encoder_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "copy-csv-encoder"]


def wait_no_encoder(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while encoder_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert encoder_threads() == []


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse, "COPY_CHUNK_ROWS", 7)


def frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [f'企业{index},"引号"\n换行' if index % 3 == 0 else None for index in range(rows)],
            "number": range(rows),
            "flag": [index % 2 == 0 for index in range(rows)],
        }
    )


@pytest.mark.parametrize("rows", [0, 1, 7, 8, 50])
def test_threaded_encoding_sends_the_bytes_of_the_inline_encoding(small_chunks: None, rows: int):
    data = frame(rows)
    assert b"".join(warehouse._csv_chunks_ahead(data)) == b"".join(warehouse._csv_chunks(data, 7))
    wait_no_encoder()


def test_an_encoding_error_is_raised_in_the_copy(small_chunks: None, monkeypatch: pytest.MonkeyPatch):
    real = warehouse._as_text_array
    calls = {"count": 0}

    def failing(column, pa):
        calls["count"] += 1
        if calls["count"] > 6:  # the third chunk
            raise ValueError("cannot encode this value")
        return real(column, pa)

    monkeypatch.setattr(warehouse, "_as_text_array", failing)
    chunks = warehouse._csv_chunks_ahead(frame(50))
    assert next(chunks) and next(chunks)
    with pytest.raises(ValueError, match="cannot encode this value"):
        next(chunks)
    wait_no_encoder()


def test_a_failed_copy_stops_the_encoder(small_chunks: None):
    chunks = warehouse._csv_chunks_ahead(frame(500))
    assert next(chunks)
    assert encoder_threads()  # waiting, with at most COPY_CHUNKS_AHEAD chunks encoded
    chunks.close()  # what bulk_insert's closing() does when the COPY raises
    assert encoder_threads() == []
