/** Histogram bucket bounds, in seconds, from a warm job's half millisecond to a long pull's minutes. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
