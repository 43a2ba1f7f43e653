"""Tracking stores: the interface, the SQL store and (later) the REST store."""
