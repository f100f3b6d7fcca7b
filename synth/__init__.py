"""Deterministic synthetic regenerative-medicine clinic: the project's ground truth for tests, demo and evaluation.

Usage::

    from pathlib import Path
    from synth import generate_clinic, load_ground_truth
    truth = generate_clinic(Path("/tmp/clinic"), patients=200, seed=7)
"""

from synth.command import main
from synth.generate import DEFAULT_PATIENTS, DEFAULT_SEED, SAMPLE_DIR, NotAClinicFolderError, generate_clinic
from synth.model import GROUND_TRUTH_FILE, GroundTruth, load_ground_truth

__all__ = [
    "DEFAULT_PATIENTS",
    "DEFAULT_SEED",
    "GROUND_TRUTH_FILE",
    "SAMPLE_DIR",
    "GroundTruth",
    "NotAClinicFolderError",
    "generate_clinic",
    "load_ground_truth",
    "main",
]
