"""The Feast feature repository of the checks, and its known data."""
