"""Policy rule and pack tests."""
