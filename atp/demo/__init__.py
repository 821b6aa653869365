"""The demo retailer: generated data, seeding, live changes, and the `atp demo` walk-through."""
