from __future__ import annotations

from kdeploy.cli import main

main()
