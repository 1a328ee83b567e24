"""`kdeploy registry *` (being written)."""
