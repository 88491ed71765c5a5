"""What the integration API's operations use, as a protocol: the services satisfy it, and so does anything
a test builds with these members. Operations never reach for more."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from receptionist.config.practice import Practice
    from receptionist.jobqueue import Jobs
    from receptionist.outcomes.record import Outcomes
    from receptionist.patients.cache import TierCache
    from receptionist.store import Store


class IntegrationContext(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def practice(self) -> Practice: ...

    @property
    def publish_cache(self) -> TierCache:
        """The tier cache with patient timeouts (bulk updates tell it that phones change)."""
        ...

    @property
    def outcomes(self) -> Outcomes: ...

    @property
    def jobs(self) -> Jobs: ...

    def now(self) -> dt.datetime: ...
