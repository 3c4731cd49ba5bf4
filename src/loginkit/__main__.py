"""``python -m loginkit``."""

from loginkit.entry import main

raise SystemExit(main())
