"""Typed clients for the cloud services ppmi calls."""
