"""Batch scoring: files in and out, the local and Spark engines, drift checks."""
