"""Model registry stores: the interface (``base``), SQL (``sql``) and REST (``rest``) implementations."""
