"""Flows the Prefect checks run: deployed through the work pool, or run in the check itself."""
