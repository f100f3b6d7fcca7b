"""``python -m synth --patients N --seed S --out DIR`` (or ``--sample``)."""

import sys

from synth.command import main

sys.exit(main())
