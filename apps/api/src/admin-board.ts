import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export const ADMIN_BASE_PATH = '/admin/queues';

/**
 * bull-board (the library's UI, not ours) for the given queues at /admin/queues. Register it inside a
 * scope that already authenticates: it adds no auth of its own.
 */
export async function registerAdminBoard(app: FastifyInstance, queues: readonly Queue[]): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  serverAdapter.setBasePath(ADMIN_BASE_PATH);
  await app.register(serverAdapter.registerPlugin(), { prefix: ADMIN_BASE_PATH });
}
