// How long a running analysis may be silent: one table for the consumer that runs it and the cron that recovers it.

/** A running job touches its heartbeat this often. */
export const HEARTBEAT_MS = 10_000;

/**
 * A running analysis whose heartbeat is older than this (six missed beats) is presumed dead (its Worker was
 * evicted): a redelivery of its message may claim it again.
 */
export const STALE_AFTER_SECONDS = 60;

/**
 * The cron requeues a silent job only after twice that: the queue's own redelivery gets the first chance to
 * take it over, so a job is not sent twice (a second message would claim nothing, but costs a delivery).
 */
export const RECOVER_AFTER_SECONDS = 2 * STALE_AFTER_SECONDS;
