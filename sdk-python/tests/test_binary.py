"""Which `stem` the CLI transport runs: an explicit bin, STEM_BIN, the binary the wheel carries,
then PATH. (tests/dist/check.sh installs the real wheel and checks the packaged binary is run.)"""

import os
import stat

import pytest

from stem_sdk import cli
from stem_sdk.binary import packaged_stem
from stem_sdk.cli import CliTransport


def test_a_checkout_carries_no_binary():
    assert packaged_stem() is None


@pytest.fixture
def fake_stems(tmp_path, monkeypatch):
    paths = {}
    for name in ("packaged", "onpath"):
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "stem"
        path.write_text("#!/bin/sh\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        paths[name] = str(path)
    monkeypatch.setenv("PATH", os.path.dirname(paths["onpath"]))
    monkeypatch.delenv("STEM_BIN", raising=False)
    return paths


def test_path_when_nothing_is_packaged(fake_stems, monkeypatch):
    monkeypatch.setattr(cli, "packaged_stem", lambda: None)
    assert CliTransport().bin == fake_stems["onpath"]


def test_the_packaged_binary_before_path(fake_stems, monkeypatch):
    monkeypatch.setattr(cli, "packaged_stem", lambda: fake_stems["packaged"])
    assert CliTransport().bin == fake_stems["packaged"]


def test_stem_bin_and_an_explicit_bin_before_the_packaged_binary(fake_stems, monkeypatch):
    monkeypatch.setattr(cli, "packaged_stem", lambda: fake_stems["packaged"])
    monkeypatch.setenv("STEM_BIN", "/opt/stem/bin/stem")
    assert CliTransport().bin == "/opt/stem/bin/stem"
    assert CliTransport(bin="/usr/local/bin/stem").bin == "/usr/local/bin/stem"
