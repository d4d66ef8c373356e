"""Pure domain logic: values in, values or decisions out. No I/O, no clock, no logger.

Only the standard library may be imported here (checked by tests/unit/test_architecture.py).
"""
