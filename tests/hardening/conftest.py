"""The Redis cluster fixtures of tests/redis, for the shutdown tests here."""

from tests.redis.conftest import cluster, prefix

__all__ = ["cluster", "prefix"]
