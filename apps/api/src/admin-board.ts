import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export const ADMIN_BASE_PATH = '/admin/queues';

/**
 * bull-board (the library's UI, not ours) for the given queues at /admin/queues (each upload shard
 * is its own queue there). Register it inside a
 * scope that already authenticates: it adds no auth of its own.
 */
export async function registerAdminBoard(
  app: FastifyInstance,
  queues: readonly { queue: Queue; label: string }[],
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  // Shards share a queue name: the label (e.g. `shard2-`) tells them apart in the board.
  createBullBoard({
    queues: queues.map(({ queue, label }) => new BullMQAdapter(queue, { prefix: label })),
    serverAdapter,
  });
  serverAdapter.setBasePath(ADMIN_BASE_PATH);
  await app.register(serverAdapter.registerPlugin(), { prefix: ADMIN_BASE_PATH });
}
