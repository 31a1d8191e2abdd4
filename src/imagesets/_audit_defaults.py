"""The audit's default thresholds (see :mod:`imagesets.audit`), in a module without numpy so
that the command-line parser can show them without importing it."""

#: Default cosine similarity of two fingerprints at or above which a pair is a candidate.
THRESHOLD = 0.95
#: Default smallest pixel correlation (brightness removed, best one-pixel shift) of a
#: near-duplicate pair.
PIXEL_THRESHOLD = 0.99
#: Default fingerprint side: images are shrunk to SIDE x SIDE grays (SIDE ** 2 numbers).
SIDE = 12
