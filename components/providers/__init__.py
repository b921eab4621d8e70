"""Pulumi dynamic providers written in Python (one resource kind per module)."""
