"""Local stand-ins for services that cannot run here (GitHub's OAuth service)."""
