"""Results as of a moment: which part of the log they need, and when they are final.

"Cast up to T" is about ``cast_at``, the event's own time. The command side gives each
message the Kafka timestamp of its ``cast_at`` (in milliseconds), and each partition of the
log is in cast order up to the clock skew between command processes: a message appended
after another was cast at most ``MAX_CLOCK_SKEW`` before it. So in each partition, from the
first message whose timestamp is at least :func:`replay_bound_ms` of T on (Kafka's
offsets-for-times finds it), every message was cast after T. The results as of T are the
fold of the log before those offsets with ``TallyView(as_of=T)`` (domain.projection: the
same laws as the live tallies, restricted to the votes cast by T).

They are final once no vote cast by T can still reach the log: a vote stamped T reaches
the log within the slack, on a clock at most the clock skew off the reader's
(``Settings.as_of_final_delay_ms``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def timestamp_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down (the Kafka timestamp of a ``cast_at``)."""
    return (moment - EPOCH) // MILLISECOND


def replay_bound_ms(as_of: datetime, slack: timedelta) -> int:
    """The Kafka timestamp from which on a partition holds no vote cast at or before
    ``as_of``: a message with timestamp >= it was cast after ``as_of + slack``, and every
    later message of its partition after ``as_of``."""
    return timestamp_ms(as_of + slack) + 1


def final_after(as_of: datetime, delay: timedelta) -> datetime:
    """From this moment on (read side's clock) no vote cast at or before ``as_of`` can
    still be appended: results as of ``as_of`` computed from then on never change."""
    return as_of + delay


class ReplayTooLongError(Exception):
    """Results as of a moment would need a longer replay of the log than allowed."""
