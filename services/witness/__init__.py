"""A transparency-log witness (c2sp.org/tlog-witness): cosigns checkpoints it checked."""
