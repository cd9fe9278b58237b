"""Event sources: the simulator, shop exports in the drop folder, and the batch writer."""
