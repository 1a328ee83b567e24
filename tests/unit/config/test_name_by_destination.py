"""x-kdeploy/accessories/name_by_destination: the option and the names it gives an accessory."""

from __future__ import annotations

import pytest
from config_helpers import variant

from kdeploy.errors import ConfigError

DB = {"image": "postgres:16", "host": "10.0.0.1", "port": 5432,
      "directories": ["data:/var/lib/postgresql/data", "/srv/pg:/backup"],
      "files": ["config/init.sql:/docker-entrypoint-initdb.d/init.sql"],
      "volumes": ["pgdata:/var/lib/postgresql", "/var/log/pg:/var/log/pg:ro", "/anonymous",
                  "sock.d:/run/pg:ro"]}
OPTION = {"x-kdeploy": {"accessories": {"name_by_destination": True}}}


def with_db(**changes):
    return variant(accessories={"db": dict(DB, **changes)}, **OPTION)


def test_option_defaults_to_off(load):
    config = load(variant())
    assert config.extension.accessories.name_by_destination is False
    assert config.to_dict()["x-kdeploy"]["accessories"] == {"name_by_destination": False}


def test_option_is_read(load):
    config = load(with_db())
    assert config.extension.accessories.name_by_destination is True
    assert config.to_dict()["x-kdeploy"]["accessories"] == {"name_by_destination": True}


@pytest.mark.parametrize(("accessories", "message"), [
    ({"name_by_destination": "yes"}, "x-kdeploy/accessories/name_by_destination: "
                                     "should be a boolean"),
    ({"name_by_destination": None}, "x-kdeploy/accessories/name_by_destination: "
                                    "should be a boolean"),
    ({"names": True}, "x-kdeploy/accessories: unknown key: names"),
    (["name_by_destination"], "x-kdeploy/accessories: should be a hash"),
])
def test_option_is_checked_naming_the_key(load, accessories, message):
    with pytest.raises(ConfigError) as error:
        load(variant(**{"x-kdeploy": {"accessories": accessories}}))
    assert error.value.message.endswith(f"deploy.yml: {message}")


def test_kamal_names_are_kept_byte_for_byte_without_a_destination(load):
    (db,) = load(with_db()).accessories
    assert db.named_by_destination(None) is db
    assert db.named_by_destination("") is db


def test_destination_goes_into_every_host_side_name(load):
    (db,) = load(with_db()).accessories
    staging = db.named_by_destination("staging")
    assert staging.service_name == "app-db-staging"
    assert dict(staging.labels) == {"service": "app-db-staging"}
    assert [d.host_path for d in staging.directories] == ["app-db-staging/data", "/srv/pg"]
    assert [f.host_path for f in staging.files] == [
        "app-db-staging/docker-entrypoint-initdb.d/init.sql"]
    assert staging.volumes == ("pgdata-staging:/var/lib/postgresql", "/var/log/pg:/var/log/pg:ro",
                               "/anonymous", "sock.d-staging:/run/pg:ro")
    # What the option leaves alone.
    assert (staging.name, staging.image, staging.port, staging.hosts) == (
        db.name, db.image, db.port, db.hosts)
    assert [d.remote for d in staging.directories] == [d.remote for d in db.directories]


def test_a_service_key_gets_the_destination_appended(load):
    (db,) = load(with_db(service="postgres")).accessories
    assert db.service_name == "postgres"
    staging = db.named_by_destination("staging")
    assert (staging.service_name, staging.labels["service"]) == ("postgres-staging",
                                                                 "postgres-staging")
    assert staging.directories[0].host_path == "postgres-staging/data"


def test_other_labels_are_kept(load):
    (db,) = load(with_db(labels={"tier": "data"})).accessories
    assert dict(db.named_by_destination("staging").labels) == {"service": "app-db-staging",
                                                                "tier": "data"}
