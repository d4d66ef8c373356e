"""Support tools run from the CLI (orders show / retry / pending...): read-mostly, one answer per call."""
