"""``python -m eval.synth --patients N --seed S --out DIR`` (or ``--sample``)."""

import sys

from eval.synth.cli import main

sys.exit(main())
