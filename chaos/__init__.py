"""``make chaos``: the fault matrix, the whole system as processes under injected faults."""
