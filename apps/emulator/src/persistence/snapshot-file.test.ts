import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSnapshot, SnapshotWriter } from './snapshot-file.js';

describe('SnapshotWriter', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('batches a burst of changes into few whole-file writes and leaves no temp file', async () => {
    const file = path.join(dir.path, 'state.json');
    let value = 0;
    let collected = 0;
    const writer = new SnapshotWriter(
      file,
      () => {
        collected++;
        return { json: { value } };
      },
      pino({ level: 'silent' }),
      { intervalMs: 20 },
    );
    expect(await readSnapshot(file)).toBeUndefined();
    for (let i = 0; i < 1000; i++) {
      value = i;
      writer.changed();
    }
    await writer.flush();
    expect(await readSnapshot(file)).toEqual({ value: 999 });
    expect(collected).toBe(1);
    value = 1000;
    writer.changed();
    await writer.close();
    expect(await readSnapshot(file)).toEqual({ value: 1000 });
    writer.changed(); // after close: ignored
    await writer.flush();
    expect(collected).toBe(2);
    expect(await readdir(dir.path)).toEqual(['state.json']);
  });

  it('writes on its own after the interval, without a flush', async () => {
    const file = path.join(dir.path, 'state.json');
    let committed = 0;
    const writer = new SnapshotWriter(
      file,
      () => ({ json: { ok: true }, committed: () => committed++ }),
      pino({ level: 'silent' }),
      { intervalMs: 5 },
    );
    writer.changed();
    await expect.poll(() => readSnapshot(file).catch(() => undefined)).toEqual({ ok: true });
    await writer.close();
    expect(committed).toBe(1);
  });
});
