import { createHash } from 'node:crypto';
import {
  JOB_STATUSES,
  type JobErrorView,
  type JobProgress,
  type JobResult,
  type JobSpec,
  type JobStatus,
} from '@mediaferry/core';

/**
 * What API and workers share about one job, stored as a Redis hash at `StoreKeys.job(id)`.
 * It holds the spec without a URL source's request headers (they may carry tokens): those live in
 * the job's secret key, which only the worker reads (`JobStore.sourceForRun`). `toJobView()` is the
 * only way out to callers.
 */
export interface JobRecord {
  id: string;
  /** The service (API token owner) that created the job; only it may see or change it. */
  service: string;
  status: JobStatus;
  spec: JobSpec;
  /** SHA-256 of the canonical spec without its idempotency key: a repeat with another spec is a conflict. */
  specHash: string;
  progress: JobProgress;
  /** Attempts started so far, across manual retries; a SIGTERM hand-off does not count as one. */
  attempts: number;
  result: JobResult | null;
  /** The final error when `failed`; the last retryable error while the job is retried. */
  error: JobErrorView | null;
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function emptyProgress(totalBytes: number | null = null): JobProgress {
  return {
    uploadedBytes: 0,
    totalBytes,
    percent: totalBytes === null ? null : 0,
    partsDone: 0,
    partsTotal: null,
    bytesPerSecond: 0,
  };
}

/** JSON with object keys sorted at every level, so equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Hash of what the job does (the idempotency key itself excluded). */
export function specHash(spec: JobSpec): string {
  const { idempotencyKey: _ignored, ...rest } = spec;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

function json<T>(raw: string | undefined): T | null {
  return raw ? (JSON.parse(raw) as T) : null;
}

function num(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** Decodes a record hash (HGETALL reply); null for a missing or malformed record. */
export function decodeJobRecord(hash: Record<string, string>): JobRecord | null {
  const status = hash.status as JobStatus | undefined;
  if (!hash.id || !hash.service || !status || !JOB_STATUSES.includes(status) || !hash.spec) return null;
  return {
    id: hash.id,
    service: hash.service,
    status,
    spec: JSON.parse(hash.spec) as JobSpec,
    specHash: hash.specHash ?? '',
    progress: json<JobProgress>(hash.progress) ?? emptyProgress(),
    attempts: num(hash.attempts) ?? 0,
    result: json<JobResult>(hash.result),
    error: json<JobErrorView>(hash.error),
    createdAt: num(hash.createdAt) ?? 0,
    startedAt: num(hash.startedAt),
    finishedAt: num(hash.finishedAt),
    updatedAt: num(hash.updatedAt) ?? 0,
  };
}

/** ioredis returns EVAL replies of HGETALL as a flat [field, value, …] array. */
export function pairsToHash(pairs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(pairs)) return out;
  for (let i = 0; i + 1 < pairs.length; i += 2) out[String(pairs[i])] = String(pairs[i + 1]);
  return out;
}
