"""Suite-wide settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI must be reproducible: the same examples on every run of the same code (a property test
# that explores new inputs on each CI run would turn CI red at random). Outside CI,
# hypothesis keeps exploring.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")
