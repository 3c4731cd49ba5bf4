"""``python -m loginkit``."""

from loginkit.cli import main

raise SystemExit(main())
