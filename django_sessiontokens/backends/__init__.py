"""``SESSION_ENGINE`` modules: thin adapters over a store."""
