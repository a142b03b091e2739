"""Behaviour behind the GraphQL fields, and the per-request DataLoaders."""
