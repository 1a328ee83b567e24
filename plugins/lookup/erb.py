# MIT License (kdeploy)
"""Render a local ERB file on the controller, as Kamal renders an accessory's `*.erb` files."""

from __future__ import annotations

import os
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: erb
short_description: Render a local ERB template the way Kamal renders accessory files
description:
  - Kamal uploads an accessory file whose local name ends in C(erb) rendered with Ruby's ERB,
    with the accessory's env (clear and secret values) added to C(ENV). This lookup does the same
    on the controller with kdeploy's renderer (Ruby when it is installed, else kdeploy's native
    subset), so the rendered text, which may hold secrets, only exists in memory.
  - Needs the kdeploy Python package in the interpreter that runs Ansible (kdeploy runs it so).
options:
  _terms:
    description: Local paths of the templates.
    required: true
  env:
    description: Variables added to the process environment the template sees as C(ENV).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Upload a rendered file.
  ansible.builtin.copy:
    content: "{{ lookup('kdeploy.deploy.erb', '/project/config/my.cnf.erb', env={'DB': 'app'}) }}"
    dest: /root/app-db/etc/my.cnf
    mode: "0644"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The rendered text of each template.
  type: list
  elements: str
"""


class LookupModule(LookupBase):
    """Render each term (a local path) with kdeploy's ERB renderer."""

    def run(self, terms: list[str], variables: dict | None = None, **kwargs: object) -> list[str]:
        """Return the rendered text of each template path in terms."""
        del variables  # the template sees the environment and `env`, never Ansible variables
        try:
            from kdeploy.config.erb import render_erb
            from kdeploy.errors import KdeployError
        except ImportError as error:
            raise AnsibleError(
                f"kdeploy.deploy.erb needs the kdeploy package next to Ansible: {error}") from error
        environ = dict(os.environ)
        env = kwargs.get("env") or {}
        if not isinstance(env, dict):
            raise AnsibleError("kdeploy.deploy.erb: env must be a dict")
        environ.update({str(key): str(value) for key, value in env.items()})
        rendered = []
        for term in terms:
            path = Path(term)
            try:
                rendered.append(render_erb(path.read_text(encoding="utf-8"), path, environ))
            except OSError as error:
                raise AnsibleError(f"Missing file: {term} ({error.strerror})") from error
            except KdeployError as error:
                raise AnsibleError(str(error)) from error
        return rendered
