"""Registry: servers, credentials as values or secret names, local registries."""

from __future__ import annotations

import pytest
from config_helpers import variant


@pytest.mark.parametrize(("registry", "expected"), [
    ({"server": "localhost:5000"},
     {"server": "localhost:5000", "local": True, "local_port": 5000}),
    ({"username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
     {"server": None, "username": "u", "password": None,
      "password_secret": "KAMAL_REGISTRY_PASSWORD", "local": False}),
    ({"server": "ghcr.io", "username": ["GH_USER"], "password": "clear"},
     {"username": None, "username_secret": "GH_USER", "password": "clear"}),
    ({"server": "localhost", "username": "u", "password": "p"}, {"local": False}),
])
def test_registry(load, registry, expected):
    built = load(variant(registry=registry, image="dhh/app")).registry
    assert {key: getattr(built, key) for key in expected} == expected
