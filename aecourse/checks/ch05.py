"""Exercise checks of chapter 05."""
__all__: list[str] = []
