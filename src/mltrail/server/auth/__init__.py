"""Authentication and authorization of ``mltrail server --auth`` (MLflow's ``--app-name basic-auth``).

Modules: :mod:`.config` (settings from a TOML or MLflow ini file and the environment), :mod:`.identity` (the
caller of a request), :mod:`.credentials` (Basic, bearer tokens and session cookies, with a cache and a
failed-login limiter), :mod:`.permissions` (a caller's effective permission on experiments and models),
:mod:`.rules` (the rule each route is checked with), :mod:`.guard` (where routes apply them),
:mod:`.audit` (the batched audit log) and :mod:`.service` (one object holding them for a server process).
"""
