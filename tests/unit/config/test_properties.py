"""Property: any mutation of a valid config gives a Config or a ConfigError naming the file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from config_mutations import SOURCES, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdeploy.config import Config, load_config
from kdeploy.errors import ConfigError
from kdeploy.selection import select

WORKDIR = Path(tempfile.mkdtemp(prefix="kdeploy-properties-"))
CONFIG_FILE = WORKDIR / "config" / "deploy.yml"
CONFIG_FILE.parent.mkdir(parents=True)


# KD_EXAMPLES=10000 for a longer hunt.
@settings(max_examples=int(os.environ.get("KD_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCES), data=st.data())
def test_mutated_config_is_valid_or_a_config_error(source, data):
    CONFIG_FILE.write_text(yaml.safe_dump(mutate(source, data)))
    try:
        config = load_config(CONFIG_FILE, version="abc", environ={})
    except ConfigError as error:
        assert error.message.startswith(f"{CONFIG_FILE}: ")
        assert "\n" not in error.message
        return
    assert isinstance(config, Config)
    yaml.safe_dump(config.to_dict())
    if config.roles:
        select(config)
