"""Conformance checks: one module per tool, written against the Stack, never a target."""
