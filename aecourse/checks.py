"""Exercise checks: compare a learner's function with the reference and give a specific hint."""
__all__: list[str] = []
