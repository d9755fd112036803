"""Property tests. Two Hypothesis profiles (tests/conftest.py loads one):

- `ci` (the default, what `make test` and `.ci/run` use): derandomized, so every run draws
  the same examples (each test's seed derives from its name) and a failure in CI fails the
  same way on a laptop; no example database.
- `explore` (`HYPOTHESIS_PROFILE=explore make test PYTEST_ARGS=tests/fuzz`): random seeds,
  `EXPLORE_FACTOR` times as many examples, failures saved to `.hypothesis/`; reproduce one
  with the `@reproduce_failure` line or the `--hypothesis-seed` that pytest prints.
"""

from __future__ import annotations

import os

EXPLORE_FACTOR = 20
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def examples(n: int) -> int:
    """`n` examples in CI, `EXPLORE_FACTOR * n` in an exploratory run."""
    return n * EXPLORE_FACTOR if PROFILE == "explore" else n
