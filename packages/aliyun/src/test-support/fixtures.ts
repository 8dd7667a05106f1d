import { randomBytes } from 'node:crypto';
import type { UploadedPart } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import type { Emulator } from '@mediaferry/emulator';
import type { AliyunLogger } from '../logger.js';
import { VodClient } from '../vod-client.js';

export const KiB = 1024;

/** Random bytes cut into parts; OSS wants every part but the last ≥ 100 KiB. */
export function makeParts(sizes: number[]): { parts: Buffer[]; whole: Buffer; crc64: string } {
  const parts = sizes.map((n) => randomBytes(n));
  const whole = Buffer.concat(parts);
  return { parts, whole, crc64: crc64(whole).toString() };
}

export function vodClientFor(emu: Emulator): VodClient {
  return new VodClient({
    endpoint: emu.vodEndpoint,
    regionId: emu.region,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
  });
}

/** Remembers what was logged, so tests can assert on warnings. */
export function recordingLogger(): AliyunLogger & {
  lines: { level: string; message: string; fields: unknown }[];
} {
  const lines: { level: string; message: string; fields: unknown }[] = [];
  return {
    lines,
    debug: (fields, message) => lines.push({ level: 'debug', message, fields }),
    info: (fields, message) => lines.push({ level: 'info', message, fields }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
  };
}

export function byNumber(parts: UploadedPart[]): UploadedPart[] {
  return [...parts].sort((a, b) => a.partNumber - b.partNumber);
}
