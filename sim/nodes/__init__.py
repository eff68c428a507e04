"""The simulated cluster's nodes, one module per kind, all driven by the pure core."""
