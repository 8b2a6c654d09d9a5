"""The pytest plugin of `stem_sdk.testing`: enable it in a `conftest.py` with

    pytest_plugins = ["stem_sdk.testing.pytest"]

Fixtures:

- `stem_manifest`: the `stem.toml` the worker runs (default: `STEM_MANIFEST`, else
  `stem.toml` in pytest's root folder); override it in your conftest to point elsewhere.
- `stem_worker`: a real `stem worker` on that manifest and a temporary embedded store (one
  per test), stopped after the test (a `stem_sdk.testing.worker.StemWorker`).
- `stem_client`: a `stem_sdk.Client` bound to that worker's store: `stem_client.enqueue("add",
  [2, 3]).get(timeout=30)`.

This module imports pytest; the rest of the SDK never does."""

import os
from pathlib import Path
from typing import Iterator

import pytest

from ..client import Client
from .worker import StemWorker


@pytest.fixture
def stem_manifest(request: "pytest.FixtureRequest") -> Path:
    """The manifest the `stem_worker` fixture runs."""
    configured = os.environ.get("STEM_MANIFEST")
    return Path(configured) if configured else Path(str(request.config.rootpath)) / "stem.toml"


@pytest.fixture
def stem_worker(stem_manifest: Path, tmp_path: Path) -> Iterator[StemWorker]:
    """A started worker on a temporary store; stopped after the test."""
    worker = StemWorker(stem_manifest, tmp_path / "stem")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def stem_client(stem_worker: StemWorker) -> Client:
    """A client that enqueues to `stem_worker` and reads its results."""
    return stem_worker.client
