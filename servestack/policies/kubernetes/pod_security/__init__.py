"""Pod Security Standards rules, one per control (baseline: mandatory; restricted: advisory)."""
