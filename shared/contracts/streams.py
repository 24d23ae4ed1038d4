"""JetStream streams and message headers: one stream per producing service."""

from __future__ import annotations

from dataclasses import dataclass

# Headers every relayed message carries besides Nats-Msg-Id.
POSITION_HEADER = "Safeguard-Position"
"""The notification id of the event in its producer's own log."""
PREVIOUS_HEADER = "Safeguard-Previous-Position"
"""The position of the message published just before this one ("" for the first): consumers use
it to prove nothing was skipped, whatever gaps the producer's log has."""
DEAD_LETTER_ERROR_HEADER = "Safeguard-Error"
DEAD_LETTER_CONSUMER_HEADER = "Safeguard-Consumer"


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream: its name and the subjects it captures."""

    name: str
    subjects: tuple[str, ...]


PRODUCER_STREAMS: dict[str, StreamSpec] = {
    "intake": StreamSpec("INTAKE", ("intake.>",)),
    "referral": StreamSpec("REFERRAL", ("referral.>",)),
    "review": StreamSpec("REVIEW", ("review.>",)),
}
DEAD_LETTER_STREAM = StreamSpec("DEADLETTER", ("deadletter.>",))


def dead_letter_subject(consumer: str, subject: str) -> str:
    return f"deadletter.{consumer}.{subject}"


def message_id(producer: str, position: int) -> str:
    """``Nats-Msg-Id``: JetStream drops a second message with the same id."""
    return f"{producer}:{position}"
