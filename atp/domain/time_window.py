"""Which moments and dates an input may carry: outside these windows it is dead-lettered (``implausible_timestamp``).

Two windows, because two kinds of time arrive:
- *event times* (a source commit's ``ts_ms``, a reservation's ``occurred_at``) say when something happened:
  not before 2000-01-01 (nothing in these systems is older; 0 or a seconds-for-milliseconds mix-up lands
  in 1970), and not more than a day ahead of the flow's clock (clocks drift by seconds, not days).
- *dates ahead* (a lot's ``EXPIRY_DT``, a purchase order's ``DUE_DT``, a hold's ``expires_at``) may be far away,
  and ``9999-12-31`` is the legacy systems' "never": from 1900-01-01 to 9999-12-31, the last day Python's
  ``datetime`` represents. A deadline on that last day can fall after its end in UTC (00:00 in a zone behind
  UTC): :func:`representable_ms` keeps every deadline the engine arms at or before :data:`LATEST_MS`.

Pure: the caller passes the flow's clock.
"""

from __future__ import annotations

IMPLAUSIBLE_TIMESTAMP = "implausible_timestamp"

EARLIEST_EVENT_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_AHEAD_MS = 86_400_000  # an event time at most a day ahead of the flow's clock
EARLIEST_DAY = -25_567  # 1900-01-01, in days since 1970-01-01
LATEST_DAY = 2_932_896  # 9999-12-31
LATEST_MS = 253_402_214_400_000  # 9999-12-31T00:00:00Z: every deadline is armed at or before it


def event_time_problem(epoch_ms: int, now_ms: int) -> str | None:
    """Why ``epoch_ms`` cannot be when an event happened, seen at ``now_ms``; None if it can."""
    if epoch_ms < EARLIEST_EVENT_MS:
        return "is before 2000-01-01"
    if epoch_ms > now_ms + MAX_AHEAD_MS:
        return "is more than a day ahead of the clock"
    return None


def moment_ahead_problem(epoch_ms: int) -> str | None:
    """Why ``epoch_ms`` cannot be a moment ahead (a hold's expiry); None if it can."""
    if epoch_ms < EARLIEST_EVENT_MS:
        return "is before 2000-01-01"
    if epoch_ms > LATEST_MS:
        return "is after 9999-12-31"
    return None


def day_problem(day: int) -> str | None:
    """Why ``day`` (days since 1970-01-01) cannot be a date of a lot or a purchase order; None if it can."""
    if day < EARLIEST_DAY:
        return "is before 1900-01-01"
    if day > LATEST_DAY:
        return "is after 9999-12-31"
    return None


def representable_ms(epoch_ms: int) -> int:
    """A deadline no later than :data:`LATEST_MS`: a later one cannot become a timer (``datetime`` ends in 9999)."""
    return min(epoch_ms, LATEST_MS)
