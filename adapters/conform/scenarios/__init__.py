"""The scenario library: small workflows, each driven through the official Python SDK
to make a Temporal server write one particular shape of history (`registry.py` lists
them). It recorded the real histories of tests/fixtures/histories, and `tmodel conform
--target` runs it against any endpoint. This package imports nothing, so that
temporalio's workflow sandbox can re-import the workflow modules cheaply."""
