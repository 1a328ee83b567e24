from __future__ import annotations

import subprocess

from playbook_support import REPO, require_tool


def test_playbooks_and_roles_pass_ansible_lint_production_profile() -> None:
    ansible_lint = require_tool("ansible-lint")
    result = subprocess.run(
        [ansible_lint, "--offline", "--nocolor", "playbooks", "roles"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr
