"""Reports: `report.json` is the source of truth; JUnit, Markdown and HTML are rendered from it."""
