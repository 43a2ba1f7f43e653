"""The auth store: users, groups, access tokens and sessions, permissions and the audit log.

:class:`~mltrail.store.auth.base.AuthStore` is the interface; :mod:`.sql` keeps it in a SQL database on the
shared seam (:mod:`mltrail.store.sql`), by default the tracking database.
"""
