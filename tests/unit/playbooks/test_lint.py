"""ansible-lint's production profile over the whole collection at the root, with no warnings.

The collection is found through a link to this working tree (as an installed copy would be), so
the FQCNs of our modules, the lookup and the roles resolve. No warning of any kind is allowed:
the package pins cryptography below 51, whose DSA deprecation ansible-core would print.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from playbook_support import REPO, collections_dir, require_tool


def test_the_collection_passes_ansible_lint_production_profile(tmp_path: Path) -> None:
    ansible_lint = require_tool("ansible-lint")
    tools = str(Path(ansible_lint).parent)
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_dir(tmp_path)),
           "PATH": f"{tools}:{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [ansible_lint, "--offline", "--nocolor"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Profile 'production' was required, and it passed" in output
    assert ", 0 warning(s)" in output, output
    warnings = [line for line in output.splitlines()
                if "WARNING" in line or "Warning" in line or "[ERROR]" in line]
    assert warnings == []
