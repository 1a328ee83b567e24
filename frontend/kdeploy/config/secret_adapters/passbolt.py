"""Kamal's ``passbolt`` adapter: ``passbolt list resources`` filtered by name and folder.

Names are ``NAME`` or ``FOLDER[/SUBFOLDER...]/NAME``; results are keyed by the bare NAME. The
filters are written as Kamal writes them: each name shell-escaped, then quoted Ruby-style.
"""

from __future__ import annotations

from typing import Any

from kdeploy.config.secret_adapters.base import (
    Adapter,
    AdapterError,
    parse_json,
    prefixed_secrets,
)
from kdeploy.config.secret_adapters.ruby_text import inspect, inspect_list, shellescape, split


class Passbolt(Adapter):
    """No ``--account``: ``passbolt verify`` checks the configured login."""

    requires_account = False
    cli = ("passbolt", "--version")
    cli_name = "Passbolt"

    def login(self, account: str | None) -> str | None:
        """``passbolt verify`` must succeed."""
        if not self.run(["passbolt", "verify"]).ok:
            raise AdapterError("Failed to login to Passbolt")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: str | None) -> dict[str, Any]:
        """Find the folders, then every resource in one filtered listing."""
        secrets = prefixed_secrets(secrets, from_)
        if not secrets:
            raise AdapterError("No secrets given to fetch")
        names = [_last(secret) for secret in secrets]
        folders = self._folders(secrets)
        conditions = []
        for secret in secrets:
            parts = split(secret, "/")
            if len(parts) > 1:
                current = None
                for depth in range(1, len(parts)):
                    path = "/".join(parts[:depth])
                    matching = [f for f in folders if _folder_path(f, folders) == path]
                    current = matching[0] if matching else current
                if current is not None:
                    conditions.append(f"(Name == {_quoted(parts[-1])} && "
                                      f"FolderParentID == {_quoted(str(current.get('id')))})")
            else:
                conditions.append(f"Name == {_quoted(_last(secret))}")
        argv = ["passbolt", "list", "resources"]
        if conditions:
            argv += ["--filter", " || ".join(conditions)]
        for folder in folders:
            argv += ["--folder", _text(folder.get("id"))]
        output = self.run([*argv, "--column", "name", "--column", "password", "--json"])
        if not output.ok:
            raise AdapterError(f"Could not read {inspect_list(secrets)} from Passbolt")
        items = _records(parse_json(output.stdout, "passbolt list resources"))
        found = {item.get("name") for item in items}
        missing = [name for name in names if name not in found]
        if missing:
            raise AdapterError("Could not find the following secrets in Passbolt: "
                               f"{', '.join(missing)}")
        return {item.get("name"): item.get("password") for item in items}

    def _folders(self, secrets: list[str]) -> list[dict[str, Any]]:
        paths = list(dict.fromkeys(tuple(split(s, "/")[:-1]) for s in secrets if "/" in s))
        if not paths:
            return []
        parents = list(dict.fromkeys(path[0] for path in paths if path))
        condition = " || ".join(f"Name == {_quoted(name)}" for name in parents)
        output = self.run(["passbolt", "list", "folders", "--filter", condition, "--json"])
        if not output.ok:
            raise AdapterError("Could not read folders from Passbolt")
        parent_items = _records(parse_json(output.stdout, "passbolt list folders"))
        folders = list(parent_items)
        for path in paths:
            if len(path) <= 1:
                continue
            current = next((f for f in parent_items if f.get("name") == path[0]), None)
            if current is None:
                continue
            for name in path[1:]:
                condition = (f"Name == {_quoted(name)} && "
                             f"FolderParentID == {_quoted(str(current.get('id')))}")
                nested = self.run(["passbolt", "list", "folders", "--filter", condition, "--json"])
                if not nested.ok:
                    continue  # Kamal's `next`: on to the next folder name
                nested_items = _records(parse_json(nested.stdout, "passbolt list folders"))
                if not nested_items:
                    break
                folders += nested_items
                current = nested_items[0]
        found = {_folder_path(folder, folders) for folder in folders}
        missing = ["/".join(path) for path in paths if "/".join(path) not in found]
        if missing:
            raise AdapterError("Could not find the following folders in Passbolt: "
                               f"{', '.join(missing)}")
        return folders


def _folder_path(folder: dict[str, Any], folders: list[dict[str, Any]]) -> str:
    path = [_text(folder.get("name"))]
    seen = {id(folder)}
    while _text(folder.get("folder_parent_id")) != "":
        parent = next((f for f in folders if f.get("id") == folder.get("folder_parent_id")), None)
        if parent is None or id(parent) in seen:
            break
        seen.add(id(parent))
        path.insert(0, _text(parent.get("name")))
        folder = parent
    return "/".join(path)


def _quoted(name: str) -> str:
    # Kamal's `name.shellescape.inspect`: both escapes, as the filter receives them.
    return inspect(shellescape(name))


def _last(secret: str) -> str:
    return (split(secret, "/") or [""])[-1]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _records(parsed: Any) -> list[dict[str, Any]]:
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise AdapterError("`passbolt list` did not print a list")
    return parsed
