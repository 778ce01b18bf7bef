"""Fixtures come from the `harness.plugin` pytest plugin; nothing else belongs here."""
