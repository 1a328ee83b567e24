"""`kdeploy app *` (being written)."""
