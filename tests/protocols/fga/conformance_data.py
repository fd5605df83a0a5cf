"""Where the shared conformance data lives (``../shared`` beside the repository) and how to load it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import yaml

SHARED = (Path(__file__).resolve().parents[3] / ".." / "shared").resolve()
OPENFGA = SHARED / "conformance" / "openfga"
LANGUAGE = SHARED / "conformance" / "openfga-language"


def require(path: Path) -> Path:
    """``path`` if present, else skip the calling test with a visible reason."""
    if not path.exists():
        pytest.skip(f"conformance data not found at {path} (expected ../shared beside the repository)")
    return path


@lru_cache(maxsize=None)
def load_yaml(path: Path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def yaml_or_empty(path: Path):
    """For parametrization at collection time: the parsed file, or ``None`` when absent."""
    return load_yaml(path) if path.exists() else None
