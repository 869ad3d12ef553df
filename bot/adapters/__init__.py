"""Thin translators between a platform and the core: to_incoming, render, send."""
