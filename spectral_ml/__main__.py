"""``python -m spectral_ml`` runs the command-line interface."""

from spectral_ml.cli import main

raise SystemExit(main())
