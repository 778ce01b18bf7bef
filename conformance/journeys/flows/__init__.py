"""Flows that journeys deploy to Prefect from this directory."""
