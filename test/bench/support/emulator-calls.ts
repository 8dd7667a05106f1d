import type { EmulatorAdminClient } from '@mediaferry/emulator';

/**
 * The VOD/OSS operations the emulator served since its request log was last cleared, per job, with
 * their mean server-side time: shows whether a path makes more calls than the bare sequence.
 */
export async function callsPerJob(admin: EmulatorAdminClient, jobs: number): Promise<string> {
  const byOp = new Map<string, { n: number; ms: number; errors: number }>();
  for (const e of await admin.requests()) {
    const row = byOp.get(e.operation) ?? { n: 0, ms: 0, errors: 0 };
    row.n += 1;
    row.ms += e.durationMs;
    if (e.status >= 400 || e.status === 0) row.errors += 1;
    byOp.set(e.operation, row);
  }
  return [...byOp.entries()]
    .sort((a, b) => b[1].n - a[1].n)
    .map(
      ([op, r]) =>
        `${op} ${(r.n / jobs).toFixed(2)}/job (${(r.ms / r.n).toFixed(1)} ms${r.errors ? `, ${r.errors} errors` : ''})`,
    )
    .join(', ');
}
