"""Recording an event whose effect is already in the aggregate's state.

Rule: a bulk command (importing a statement) may change a large aggregate many
times before saving (a branch register takes one payment after another, and each
next payment reads what the last one left owed), yet record those changes as one
event when it saves, not one per change. The aggregate applies each change as it
comes, with the same code its event's `apply` runs; `record_applied` then adds the
event that names them all, with the next version and a timestamp, as the library's
`trigger_event` would, except that it does not apply it a second time. Reading the
aggregate back from storage applies the event once, so the state is the same: the
storage tests compare the two.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


def record_applied(aggregate: Aggregate, event_class: type[Any], **fields: Any) -> None:
    """Append to `aggregate`'s pending events an `event_class` event with `fields`, whose
    effect its state already holds (see the module's rule)."""
    new_event = event_class(
        originator_id=aggregate.id,
        originator_version=aggregate.version + 1,
        timestamp=event_class.create_timestamp(),
        **fields,
    )
    aggregate.version = new_event.originator_version
    aggregate.modified_on = new_event.timestamp
    aggregate.pending_events.append(new_event)
