"""Application services of the ledger, one concern per module, joined in `ledger.app`."""
