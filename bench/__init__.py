"""The fan-out benchmark: ``uv run --group bench python -m bench [--quick]``."""
