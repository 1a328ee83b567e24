"""`kdeploy server *` (being written)."""
