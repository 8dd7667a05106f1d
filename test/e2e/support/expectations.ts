import type { JobView } from '@mediaferry/client';
import { expect } from 'vitest';
import type { Digest } from './media-files.js';
import { readObject } from './object-check.js';
import type { NamedSecret } from './secret-scan.js';
import type { System } from './system.js';

/**
 * The job's result names an object whose bytes (read back with ali-oss and the account key) have
 * the source's size, MD5 and CRC-64, and whose server-side CRC-64 and the job's agree.
 */
export async function expectObjectMatches(system: System, job: JobView, source: Digest): Promise<void> {
  expect(job.status, `job ${job.id}: ${JSON.stringify(job.error)}`).toBe('succeeded');
  const result = job.result;
  expect(result, `job ${job.id} has no result`).not.toBeNull();
  if (!result) return;
  expect({ size: result.size, crc64: result.crc64 }).toEqual({ size: source.size, crc64: source.crc64 });
  const stored = await readObject(system.ossAccount, result.bucket, result.objectKey);
  expect(
    { size: stored.size, md5: stored.md5, crc64: stored.crc64, serverCrc64: stored.serverCrc64 },
    `object ${result.bucket}/${result.objectKey} of job ${job.id}`,
  ).toEqual({ size: source.size, md5: source.md5, crc64: source.crc64, serverCrc64: source.crc64 });
}

/** No secret in any captured log line or API response; the findings name where they leaked. */
export function expectNoSecrets(system: System, extra: NamedSecret[] = []): void {
  const findings = system.scanForSecrets(extra);
  expect(
    findings.map((f) => `${f.secret} in ${f.where}: ${f.excerpt}`),
    'secrets leaked into logs or responses',
  ).toEqual([]);
}

/** Every process the test did not stop is still running. */
export function expectNoCrashes(system: System): void {
  expect(
    system.crashed().map((p) => `${p.name} exited code=${p.exit?.code} signal=${p.exit?.signal}`),
    'processes died',
  ).toEqual([]);
}

/** Sum of UploadPart body bytes the emulator received for `key` (every attempt, failed ones too). */
export async function uploadPartBytes(
  system: System,
  key: string,
): Promise<{ bytes: number; requests: number }> {
  const parts = (await system.admin.requests({ operation: 'UploadPart' })).filter((e) => e.key === key);
  return { bytes: parts.reduce((n, e) => n + e.bytes, 0), requests: parts.length };
}
