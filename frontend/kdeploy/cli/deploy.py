"""`kdeploy deploy, redeploy, rollback` (being written)."""
