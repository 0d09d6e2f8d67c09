"""Read models fed by the ledger's event log (issue 5). Imports point inward: ledger only."""
