"""Upgrades on a running stack: canaries written before and read back after, the tools' own
migrations, and the seconds each tool was unavailable meanwhile.
"""
