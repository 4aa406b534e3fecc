"""Test alias for the product's private redis-server starter (bridge.local_redis)."""

from bridge.local_redis import LocalRedis as RedisServer
from bridge.local_redis import free_port, start_redis

__all__ = ["RedisServer", "free_port", "start_redis"]
