"""Persistence: tables and sessions, cache, object storage, media tools."""
