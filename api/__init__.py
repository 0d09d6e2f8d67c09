"""The outside of dangphi: settings, storage adapters, the composition root, the CLI (and later HTTP)."""
