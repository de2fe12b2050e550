"""The domain, pure: what an event does to a partition's state. No Faust, aiokafka or redis
import (a forbidden contract in pyproject.toml)."""
