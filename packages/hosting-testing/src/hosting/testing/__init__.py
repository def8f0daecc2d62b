"""hosting.testing: the test kit."""
