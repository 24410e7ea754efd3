"""Loopback stand-ins for every cloud API ppmi calls (development and tests; never deployed)."""
