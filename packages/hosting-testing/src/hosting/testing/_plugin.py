"""pytest plugin of hosting.testing."""
