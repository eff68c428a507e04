"""The history service as pure functions: `start` a run, `handle` requests to it.

See handle.py for the entry points, state.py for the mutable state, requests.py for the
requests, replies and outbox tasks, and one module per entity for the rules.
"""
