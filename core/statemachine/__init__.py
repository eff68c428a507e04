"""Pure state machines: shared table machinery, the history side and (later) matching/replay."""
