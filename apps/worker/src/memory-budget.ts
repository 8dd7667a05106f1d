import type { Config } from '@mediaferry/config';
import { ConfigError } from '@mediaferry/core';
import { largestPartSize, MemoryBudget, planParts } from '@mediaferry/uploader';

/**
 * The worker's one memory budget, after checking that every job it may be given can get its parts: the
 * largest whole part a URL source needs (unknown length up to `MEDIAFERRY_MAX_URL_BYTES`, or a known
 * length without Range support) must fit in the budget, or such jobs could only ever fail.
 */
export function workerMemoryBudget(config: Pick<Config, 'worker' | 'upload' | 'maxUrlBytes'>): MemoryBudget {
  const limitBytes = config.worker.memoryBudgetBytes;
  const { partSize } = config.upload;
  const largest = Math.max(
    largestPartSize(planParts(null, { partSize, maxSourceBytes: config.maxUrlBytes })),
    largestPartSize(planParts(config.maxUrlBytes, { partSize })),
  );
  if (largest > limitBytes) {
    throw new ConfigError(
      `WORKER_MEMORY_BUDGET_BYTES (${limitBytes}) is smaller than one part of the largest URL source ` +
        `(MEDIAFERRY_MAX_URL_BYTES ${config.maxUrlBytes} with UPLOAD_PART_SIZE ${partSize} needs ${largest}-byte parts): ` +
        'raise the budget, or lower MEDIAFERRY_MAX_URL_BYTES or UPLOAD_PART_SIZE',
    );
  }
  return new MemoryBudget({ limitBytes });
}
