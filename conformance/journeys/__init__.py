"""Cross-tool journeys: one check each, run through several tools with named steps."""
