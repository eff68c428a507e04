"""Proofs: the explicit-state model checker (`proofs.checker`), its state graphs and
liveness analysis (`proofs.graph`), and the models it checks (`proofs.models`).

Layering: imports `core` and `sim`, never `adapters` (import-linter enforces it).
"""
