"""Deterministic simulation on top of the pure core (the cluster simulator lands here)."""
