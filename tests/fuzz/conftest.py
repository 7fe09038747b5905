"""Hypothesis profiles for the property-based tests of every module and plugin (issue: no input crashes, hangs,
leaks a secret or loses data).

- `ci` (the default, `make fuzz` inside `make test`): derandomized, so a CI run is reproducible, with a fixed number
  of examples per test; no example database.
- `long` (`make fuzz-long`): random, ten times the examples, the database in .hypothesis/ so that what one run found
  is tried first by the next.

HYPOTHESIS_PROFILE picks one; GPUFLEET_FUZZ_EXAMPLES overrides the number of examples of either.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_EXAMPLES = int(os.environ.get("GPUFLEET_FUZZ_EXAMPLES", "0"))
_COMMON = {
    "deadline": None,  # a module run's time is bounded by the tests' own timeouts, not hypothesis's deadline
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, database=None, max_examples=_EXAMPLES or 60, **_COMMON)
settings.register_profile("long", max_examples=_EXAMPLES or 600, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
