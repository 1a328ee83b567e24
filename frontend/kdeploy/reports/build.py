"""What `kdeploy build pull` prints once every host has the image."""

from __future__ import annotations

from typing import Any

from kdeploy.reports.common import report_data


def pull_report(image: str, results: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """What `build pull` says once every host has the image: where it is, and its label."""
    labels = {host: str(result.get("stdout", "")).strip() for host, result in results.items()}
    return (f"Pulled {image} on {', '.join(labels) or 'no host'}",
            report_data("build pull", [{"host": host, "image": image, "label": label}
                                       for host, label in labels.items()]))


def push_report(image: str, tags: list[str]) -> tuple[str, dict[str, Any]]:
    """What `build push` says once the image is in the registry (built here: host `local`)."""
    return (f"Pushed {' and '.join(tags)}",
            report_data("build push", [{"host": "local", "image": image, "tags": tags}]))
