"""Executions that are not workflows: standalone activities (activity.py)."""
