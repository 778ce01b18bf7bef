"""Helm charts as the modules install them: where the packages come from, the helm binary, and
what a package holds (its Chart.yaml, default values, schema and templates).
"""
