"""One router per resource: members, organisations, payment requests, gateway webhooks."""
