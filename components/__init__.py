"""Component resources for a hardened Open WebUI deployment (one concern per module)."""
