"""What `kdeploy build pull` prints once every host has the image."""

from __future__ import annotations

from typing import Any


def pull_report(image: str, results: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """What `build pull` says once every host has the image: where it is, and its label."""
    labels = {host: str(result.get("stdout", "")).strip() for host, result in results.items()}
    return (f"Pulled {image} on {', '.join(labels) or 'no host'}",
            {"image": image, "hosts": labels})
