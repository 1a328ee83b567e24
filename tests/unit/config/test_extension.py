"""x-kdeploy: settings only kdeploy reads."""

from __future__ import annotations

from config_helpers import variant


def test_extension(load):
    config = load(variant(**{"x-kdeploy": {"python_interpreter": "/usr/bin/python3"},
                             "x-other": {"ignored": True}}))
    assert config.extension.python_interpreter == "/usr/bin/python3"
