import { StoreKeys } from '@mediaferry/queue';

/**
 * The BullMQ queues the metrics service reports on: uploads (apps/worker) and webhook deliveries
 * (CONTRACT §3). Names are part of the metrics contract (`queue` label).
 */
export const WATCHED_QUEUES = ['uploads', 'webhooks'] as const;

/** One BullMQ queue to read: its name (the `queue` label) and its key prefix (one upload shard). */
export interface WatchedQueue {
  name: string;
  prefix: string;
}

/**
 * Every BullMQ queue of a deployment: each upload shard under its own prefix, and the webhook queue.
 * The shards of one name are reported as one queue (counts summed, the oldest wait is the maximum).
 */
export function deploymentQueues(redisPrefix: string, shards: number): WatchedQueue[] {
  const keys = new StoreKeys(redisPrefix);
  return [
    ...Array.from({ length: Math.max(1, shards) }, (_, shard) => ({
      name: 'uploads',
      prefix: keys.uploadQueuePrefix(shard),
    })),
    { name: 'webhooks', prefix: keys.webhookQueuePrefix() },
  ];
}
