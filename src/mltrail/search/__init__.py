"""The search language: parse once, compile to SQL or evaluate in Python."""
