# -*- coding: utf-8 -*-
# MIT License (kdeploy)
"""Files on the host that kdeploy's modules share: env files, logins, the audit log.

The env files, docker login's stored credentials and the audit log's lines; used by the modules
release, container_state and accessory_boot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes, to_native


ENV_FILE_MODE = 0o600
ENV_DIR_MODE = 0o755


def audit_line(audit, message, now=None):
    """Kamal's audit line: `[<utc iso8601>] [<tag>]... <message>`, empty tags left out."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    tags = [stamp] + [tag for tag in audit.get("tags") or [] if tag]
    return "[%s] %s" % ("] [".join(tags), message)


def record(audit, home, message):
    """Append one line to the audit log (Kamal: `mkdir -p .kamal && echo … >> …`)."""
    if not audit:
        return
    path = resolve(home, audit["log"])
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(path, "ab") as handle:
        handle.write(to_bytes(audit_line(audit, message) + "\n"))


def resolve(home, path):
    """Return path, made absolute under home when it is relative (or starts with ~/)."""
    if path.startswith("~/"):
        path = path[2:]
    return path if os.path.isabs(path) else os.path.join(home, path)


def file_needs_write(path, content):
    """Whether the file at path is missing or holds other bytes than content."""
    try:
        with open(path, "rb") as handle:
            return handle.read() != to_bytes(content)
    except (IOError, OSError):
        return True


def write_file(path, content, mode=ENV_FILE_MODE, directory_mode=ENV_DIR_MODE):
    """Write content atomically with mode (the directory is created when missing)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, directory_mode)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".kdeploy-")
    try:
        os.fchmod(handle, mode)
        os.write(handle, to_bytes(content))
        os.fsync(handle)
    finally:
        os.close(handle)
    os.rename(temporary, path)


def ensure_file(path, content, check_mode, mode=ENV_FILE_MODE, directory_mode=ENV_DIR_MODE):
    """Make path hold content with mode; return whether anything changed."""
    if file_needs_write(path, content):
        if not check_mode:
            write_file(path, content, mode, directory_mode)
        return True
    if os.stat(path).st_mode & 0o7777 != mode:
        if not check_mode:
            os.chmod(path, mode)
        return True
    return False


def ensure_env_file(path, content, check_mode):
    """Make path hold content with mode 0600 (Kamal's env files); return whether it changed."""
    return ensure_file(path, content, check_mode)


DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")


def docker_config_path():
    """Where docker login stores credentials for this user."""
    directory = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    return os.path.join(directory, "config.json")


def registry_stored(config_path, server, username, password):
    """Whether the config file's plain store holds exactly username:password for server."""
    try:
        with open(config_path, "rb") as handle:
            config = json.loads(to_native(handle.read()))
    except (IOError, OSError, ValueError):
        return False
    if not isinstance(config, dict) or config.get("credsStore"):
        return False
    keys = [server, "https://" + server, "http://" + server] if server else list(DOCKER_HUB_KEYS)
    if any(key in (config.get("credHelpers") or {}) for key in keys):
        return False
    wanted = to_native(base64.b64encode(to_bytes("%s:%s" % (username, password))))
    auths = config.get("auths") or {}
    return any((auths.get(key) or {}).get("auth") == wanted for key in keys)
