/**
 * The BullMQ queues the metrics service reports on: uploads (apps/worker) and webhook deliveries
 * (CONTRACT §3). Names are part of the metrics contract (`queue` label).
 */
export const WATCHED_QUEUES = ['uploads', 'webhooks'] as const;
