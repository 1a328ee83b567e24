# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Render a local ERB file on the controller, as Kamal renders an accessory's `*.erb` files."""

from __future__ import annotations

DOCUMENTATION = r"""
name: kdeploy_erb
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
    content: "{{ lookup('kdeploy_erb', '/project/config/my.cnf.erb', env={'DB': 'app'}) }}"
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

import os
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    """Render each term (a local path) with kdeploy's ERB renderer."""

    def run(self, terms, variables=None, **kwargs):
        """Return the rendered text of each template path in terms."""
        self.set_options(var_options=variables, direct=kwargs)
        try:
            from kdeploy.config.erb import render_erb
            from kdeploy.errors import KdeployError
        except ImportError as error:
            raise AnsibleError("kdeploy_erb needs the kdeploy package next to Ansible: %s" % error)
        environ = dict(os.environ)
        environ.update({str(key): str(value) for key, value in self.get_option("env").items()})
        rendered = []
        for term in terms:
            path = Path(term)
            try:
                rendered.append(render_erb(path.read_text(encoding="utf-8"), path, environ))
            except OSError as error:
                raise AnsibleError("Missing file: %s (%s)" % (term, error.strerror))
            except KdeployError as error:
                raise AnsibleError(str(error))
        return rendered
