"""Event serialisation: the library's JSON transcoder, tolerant of subclasses.

Rule: the library looks transcodings up by exact type; a subclass of a
registered type (a `datetime` subclass from a test clock, say) is encoded
as its registered base class, so serialisation never depends on who made
the object.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError


class LedgerTranscoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        for cls in type(o).__mro__:
            transcoding = self.types.get(cls)
            if transcoding is not None:
                return {"_type_": transcoding.name, "_data_": transcoding.encode(o)}
        raise TranscodingNotRegisteredError(f"Object of type {type(o)} is not serializable")
