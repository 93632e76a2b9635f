"""Provenance helpers."""

import hashlib
import json

from saxs_mc.io.atomic import jsonable
from saxs_mc.provenance import file_sha256, package_versions


def test_versions_are_json_safe_and_name_core_packages():
    v = package_versions()
    json.dumps(v)
    for name in ("saxs_mc", "numpy", "pyFAI", "numba"):
        assert v[name] != "not installed"


def test_file_hash_matches_hashlib(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert file_sha256(p) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_jsonable_replaces_non_finite():
    import numpy as np

    out = jsonable({"a": np.float32(1.5), "b": np.array([1.0, np.nan]), 3: (np.int64(2), float("inf"))})
    assert out == {"a": 1.5, "b": [1.0, None], "3": [2, None]}
