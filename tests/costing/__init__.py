"""Cost engine tests."""
