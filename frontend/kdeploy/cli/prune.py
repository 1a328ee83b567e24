"""`kdeploy prune *` (being written)."""
