"""The registry: the promotion gate, its lock and scoring the champion."""
