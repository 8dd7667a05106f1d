import {
  JOB_STATUSES,
  type JobErrorView,
  type JobProgress,
  type JobStatus,
  type JobView,
} from '@mediaferry/core';
import type { EventSourceMessage } from 'eventsource-parser';

/** `succeeded`, `failed` and `canceled`: a job in one of these stays there unless retried. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

export function isTerminalStatus(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A progress update from `GET /v1/jobs/:id/events` (SSE event `progress`). */
export interface JobProgressEvent {
  type: 'progress';
  /** SSE `id:` field, when the server sends one. */
  eventId: string | undefined;
  progress: JobProgress;
}

/** A status change from `GET /v1/jobs/:id/events` (SSE event `status`). */
export interface JobStatusEvent {
  type: 'status';
  eventId: string | undefined;
  status: JobStatus;
  /** The whole job when the event carries it (the API sends the JobView), else null. */
  job: JobView | null;
  error: JobErrorView | null;
}

export type JobEvent = JobProgressEvent | JobStatusEvent;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isProgress(v: unknown): v is JobProgress {
  return isObject(v) && typeof v.uploadedBytes === 'number';
}

function isStatus(v: unknown): v is JobStatus {
  return typeof v === 'string' && (JOB_STATUSES as readonly string[]).includes(v);
}

/**
 * Turns one SSE message into a typed event, or undefined for anything else (heartbeats, unknown
 * event names, malformed data). Accepted shapes, so the client tolerates either framing:
 * `progress` data = `JobProgress` | `{progress: JobProgress, ...}` (e.g. a JobView);
 * `status` data = `JobView` | `{status, job?, error?}`.
 */
export function parseJobEvent(message: EventSourceMessage): JobEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  if (!isObject(data)) return undefined;
  if (message.event === 'progress') {
    const progress = isProgress(data.progress) ? data.progress : isProgress(data) ? data : undefined;
    return progress ? { type: 'progress', eventId: message.id, progress } : undefined;
  }
  if (message.event === 'status') {
    if (!isStatus(data.status)) return undefined;
    const looksLikeJob = typeof data.id === 'string' && isProgress(data.progress);
    const job = looksLikeJob
      ? (data as unknown as JobView)
      : isObject(data.job)
        ? (data.job as unknown as JobView)
        : null;
    const error = isObject(data.error) ? (data.error as unknown as JobErrorView) : (job?.error ?? null);
    return { type: 'status', eventId: message.id, status: data.status, job, error };
  }
  return undefined;
}
