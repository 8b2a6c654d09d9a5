"""The README's "Testing your tasks" example, run as written: its four files are taken from
the README's code blocks (each starts with `# FILE`), written to a temporary folder, and
pytest runs there against the real `stem` binary (`STEM_BIN`). The SDK is not installed
here, so the runtime gets it on its PYTHONPATH, the one change made to the example."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SDK_DIR

FILES = ("tasks.py", "stem.toml", "conftest.py", "test_tasks.py")


def readme_files():
    text = (SDK_DIR / "README.md").read_text()
    section = text.split("## Testing your tasks", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:python|toml)\n(.*?)```", section, re.S)
    found = {}
    for block in blocks:
        first = block.splitlines()[0]
        if first.startswith("# "):
            found[first[2:].strip()] = block
    return found


def test_the_readme_has_the_example_files():
    assert sorted(readme_files()) == sorted(FILES)


@pytest.mark.skipif(not os.environ.get("STEM_BIN") and os.environ.get("CI") != "true",
                    reason="STEM_BIN is not set: the example's worker tests run the real stem binary")
def test_the_readme_example_passes(tmp_path):
    files = readme_files()
    for name in FILES:
        (tmp_path / name).write_text(files[name])
    manifest = tmp_path / "stem.toml"
    manifest.write_text(files["stem.toml"].replace(
        'command = ["python3", "tasks.py"]\n',
        'command = ["python3", "tasks.py"]\nenv = { PYTHONPATH = %s }\n' % json_str(str(SDK_DIR)), 1))
    env = dict(os.environ, PYTHONPATH=str(SDK_DIR))
    env.pop("STEM_MANIFEST", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout, done.stdout[-2000:]


def json_str(text: str) -> str:
    import json

    return json.dumps(text)
