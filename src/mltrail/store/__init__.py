"""Persistence: tracking, registry and artifact stores behind narrow interfaces."""
