from store_factories import store

__all__ = ["store"]
