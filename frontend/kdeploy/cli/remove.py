"""`kdeploy remove, details` (being written)."""
