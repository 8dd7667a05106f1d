import type { JobProgress, JobView } from '@mediaferry/client';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** 3725 → "1h02m05s"; 65 → "1m05s"; 7 → "7s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(rest)}s`;
  if (m > 0) return `${m}m${pad(rest)}s`;
  return `${rest}s`;
}

/** Seconds left at the current rate, or undefined when the size or the rate is unknown. */
export function etaSeconds(progress: JobProgress): number | undefined {
  if (progress.totalBytes === null || progress.bytesPerSecond <= 0) return undefined;
  return Math.max(0, progress.totalBytes - progress.uploadedBytes) / progress.bytesPerSecond;
}

/** "12.0 MiB / 100.0 MiB (12.0%) at 4.0 MiB/s, ETA 22s" — parts left out when unknown. */
export function formatProgress(progress: JobProgress): string {
  const total = progress.totalBytes === null ? '?' : formatBytes(progress.totalBytes);
  let line = `${formatBytes(progress.uploadedBytes)} / ${total}`;
  if (progress.percent !== null) line += ` (${progress.percent.toFixed(1)}%)`;
  if (progress.bytesPerSecond > 0) line += ` at ${formatBytes(progress.bytesPerSecond)}/s`;
  const eta = etaSeconds(progress);
  if (eta !== undefined) line += `, ETA ${formatDuration(eta)}`;
  return line;
}

function describeSource(job: JobView): string {
  return job.source.type === 'file' ? `file ${job.source.path}` : `url ${job.source.url}`;
}

function describeMedia(job: JobView): string {
  const m = job.media;
  const parts: string[] = [m.type];
  if (m.type === 'attached') parts.push(`(${m.businessType})`);
  if (m.title) parts.push(JSON.stringify(m.title));
  if (m.fileName) parts.push(`file name ${m.fileName}`);
  return parts.join(' ');
}

function describeTarget(job: JobView): string {
  return job.target.type === 'oss' ? `oss ${job.target.bucket}/${job.target.key}` : 'vod';
}

/** A job as `label: value` lines, for `mediaferry job <id>` and friends. */
export function formatJob(job: JobView): string {
  const rows: Array<[string, string]> = [
    ['id', job.id],
    ['status', job.status],
    ['source', describeSource(job)],
    ['media', describeMedia(job)],
    ['target', describeTarget(job)],
    ['progress', formatProgress(job.progress)],
    ['attempts', String(job.attempts)],
  ];
  if (job.result) {
    const r = job.result;
    const fields = [
      r.mediaId ? `mediaId ${r.mediaId}` : undefined,
      `object ${r.bucket}/${r.objectKey}`,
      `size ${formatBytes(r.size)}`,
      `crc64 ${r.crc64}`,
      r.url ? `url ${r.url}` : undefined,
    ];
    rows.push(['result', fields.filter(Boolean).join(', ')]);
  }
  if (job.error) rows.push(['error', `${job.error.code}: ${job.error.message}`]);
  if (job.callbackUrl) rows.push(['callback', job.callbackUrl]);
  if (job.idempotencyKey) rows.push(['idem. key', job.idempotencyKey]);
  rows.push(['created', job.createdAt]);
  if (job.startedAt) rows.push(['started', job.startedAt]);
  if (job.finishedAt) rows.push(['finished', job.finishedAt]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n');
}

/** Jobs as an aligned table (ID, STATUS, PROGRESS, TYPE, TITLE, CREATED). */
export function formatJobTable(jobs: readonly JobView[]): string {
  const rows = [
    ['ID', 'STATUS', 'PROGRESS', 'TYPE', 'TITLE', 'CREATED'],
    ...jobs.map((j) => [
      j.id,
      j.error ? `${j.status} (${j.error.code})` : j.status,
      j.progress.percent === null
        ? formatBytes(j.progress.uploadedBytes)
        : `${j.progress.percent.toFixed(1)}%`,
      j.media.type,
      j.media.title ?? '',
      j.createdAt,
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
