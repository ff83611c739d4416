-- Reserved: version 3 belongs to a schema change being made alongside two-factor
-- login (0004). Versions must be contiguous, so this placeholder keeps 0004
-- loadable until that change lands; it is removed when it does. It changes
-- nothing.
SELECT 1;
