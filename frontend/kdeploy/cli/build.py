"""`kdeploy build *` (being written)."""
