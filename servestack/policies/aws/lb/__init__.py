"""Rules, one per module (see servestack.policies.registry)."""
