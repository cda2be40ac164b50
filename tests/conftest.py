"""Shared test fixtures (keep minimal; append new fixtures below)."""
import bz2
import gzip

import pytest


@pytest.fixture
def write(tmp_path):
    """write(name, content, compress=None) -> Path: a file in tmp_path; str is written as UTF-8,
    compress='gzip'|'bzip2' compresses it (whatever the name says)."""

    def _write(name, content, compress=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        if compress == "gzip":
            data = gzip.compress(data)
        elif compress == "bzip2":
            data = bz2.compress(data)
        path.write_bytes(data)
        return path

    return _write
