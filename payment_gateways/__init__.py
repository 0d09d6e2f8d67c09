"""Adapters to banks and payment services (VietQR, webhooks, statements; issues 3 and 4)."""
