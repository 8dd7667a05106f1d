import type { JobView } from '@mediaferry/core';
import type { JobRecord } from './job-record.js';

/** A URL without user-info (`user:password@`), which would be a credential in a response. */
function withoutUserInfo(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return raw;
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * The CONTRACT §1 view of a record: what callers see. Built field by field (never by spreading the
 * spec) so source request headers and anything added to the record later cannot leak.
 */
export function toJobView(record: JobRecord): JobView {
  const { spec } = record;
  const source: JobView['source'] =
    spec.source.type === 'file'
      ? { type: 'file', path: spec.source.path }
      : { type: 'url', url: withoutUserInfo(spec.source.url) };
  return {
    id: record.id,
    service: record.service,
    status: record.status,
    source,
    media: spec.media,
    target: spec.target,
    callbackUrl: spec.callbackUrl ? withoutUserInfo(spec.callbackUrl) : null,
    idempotencyKey: spec.idempotencyKey ?? null,
    priority: spec.priority,
    progress: record.progress,
    attempts: record.attempts,
    result: record.result,
    error: record.error,
    createdAt: iso(record.createdAt) as string,
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
  };
}
