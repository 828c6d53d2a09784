"""The Python quickstart of bindings/README.md runs as written (with a real relay's
address in place of the placeholder), so the README cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def quickstart() -> str:
    readme = Path(os.environ.get("SOTTO_BINDINGS_README", Path(__file__).parents[2] / "README.md"))
    text = readme.read_text()
    marker = text.index("<!-- quickstart: python")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block, "no python block after the quickstart marker"
    return block.group(1)


def test_the_readme_quickstart_runs(relays, folder: Path):
    code = quickstart()
    assert 'RELAY = "sotto://..."' in code
    code = code.replace('RELAY = "sotto://..."', f"RELAY = {relays[0]!r}")
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=folder
    )
    assert output.returncode == 0, output.stderr
    assert output.stdout == "Alice got: Hello, Alice!\n"
