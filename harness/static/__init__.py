"""Offline checks of the Terraform modules: rendered Helm values and their chart contracts."""
