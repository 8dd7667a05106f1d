import { describe, expect, it } from 'vitest';
import { mergeShards } from './queue-metrics.js';
import { QUEUE_STATES, type QueueSnapshot } from './queue-snapshot.js';
import { deploymentQueues } from './watched-queues.js';

const snapshot = (queue: string, waiting: number, oldest: number, paused = false): QueueSnapshot => ({
  queue,
  counts: { ...Object.fromEntries(QUEUE_STATES.map((s) => [s, 1])), waiting } as QueueSnapshot['counts'],
  oldestWaitingSeconds: oldest,
  paused,
});

describe('upload queue shards in the metrics', () => {
  it('watches every shard under its own prefix, and the webhook queue', () => {
    expect(deploymentQueues('mf', 3)).toEqual([
      { name: 'uploads', prefix: 'mf:{uploads-0}' },
      { name: 'uploads', prefix: 'mf:{uploads-1}' },
      { name: 'uploads', prefix: 'mf:{uploads-2}' },
      { name: 'webhooks', prefix: 'mf:{webhooks}' },
    ]);
  });

  it('reports the shards of a queue as one: counts summed, oldest wait the maximum, paused if any', () => {
    const merged = mergeShards([
      snapshot('uploads', 2, 10),
      snapshot('uploads', 5, 40, true),
      snapshot('uploads', 0, 0),
      snapshot('webhooks', 1, 3),
    ]);
    expect(merged).toHaveLength(2);
    const uploads = merged.find((q) => q.queue === 'uploads');
    expect(uploads).toMatchObject({ oldestWaitingSeconds: 40, paused: true });
    expect(uploads?.counts.waiting).toBe(7);
    expect(uploads?.counts.active).toBe(3);
    expect(merged.find((q) => q.queue === 'webhooks')?.counts.waiting).toBe(1);
  });
});
