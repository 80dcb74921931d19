// Filled in by the engine work.
