"""The HTTP API: a FastAPI app over one DuesLedger and its read models (`create_app`)."""
