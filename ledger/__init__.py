"""dangphi ledger core: the domain of party dues and its application service.

Imports point inward only: this package uses the standard library,
`eventsourcing`, `pydantic` and `dateutil`, never the outer layers.
"""
