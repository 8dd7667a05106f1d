import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  AbortError,
  SourceChangedError,
  SourceForbiddenError,
  SourceNotFoundError,
  type SourceReader,
} from '@mediaferry/core';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileSource, resolveAllowedFile } from './local-file.source.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Reads everything from `reader` in chunks of `chunk` bytes into fresh caller buffers. */
async function readAll(reader: SourceReader, chunk: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(chunk);
    const n = await reader.read(buf);
    parts.push(buf.subarray(0, n));
    if (n < chunk) break;
  }
  return Buffer.concat(parts);
}

let tmp: TempDir;
let root: string;
let data: Buffer;
let file: string;

beforeEach(async () => {
  tmp = await makeTempDir('mf-sources-file-');
  root = path.join(tmp.path, 'media');
  await mkdir(root);
  data = randomBytes(3 * 1024 * 1024 + 123);
  file = path.join(root, 'clip.mp4');
  await writeFile(file, data);
});

afterEach(async () => {
  await tmp.remove();
});

describe('LocalFileSource reads', () => {
  it('stats the file: size, fingerprint, name, type, seekable', async () => {
    const st = await new LocalFileSource(file, [root]).stat();
    expect(st.size).toBe(data.length);
    expect(st.fingerprint).toMatch(/^file:v1:\d+:\d+:\d+:\d+$/);
    expect(st).toMatchObject({ fileName: 'clip.mp4', contentType: 'video/mp4', seekable: true });
  });

  it('reads the whole file into caller buffers of various sizes; bytes match', async () => {
    const source = new LocalFileSource(file, [root]);
    for (const chunk of [1024 * 1024, 65_536, 7_777, data.length + 10]) {
      const reader = await source.open({ start: 0 });
      const got = await readAll(reader, chunk);
      expect(reader.position).toBe(data.length);
      await reader.close();
      expect(sha256(got)).toBe(sha256(data));
    }
  });

  it('reads from an offset, and the pieces reassemble the file', async () => {
    const source = new LocalFileSource(file, [root]);
    const { fingerprint } = await source.stat();
    const cut = 1_048_576 + 17;
    const first = await source.open({ start: 0, expectedFingerprint: fingerprint });
    const head = Buffer.alloc(cut);
    expect(await first.read(head)).toBe(cut);
    await first.close();
    const second = await source.open({ start: cut, expectedFingerprint: fingerprint });
    expect(second.position).toBe(cut);
    const tail = await readAll(second, 500_000);
    expect(await second.read(Buffer.alloc(10))).toBe(0);
    await second.close();
    await second.close(); // twice is safe
    expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(data));
  });

  it('opening at the exact end gives an empty reader; past the end is a changed source', async () => {
    const source = new LocalFileSource(file, [root]);
    const atEnd = await source.open({ start: data.length });
    expect(await atEnd.read(Buffer.alloc(16))).toBe(0);
    await atEnd.close();
    await expect(source.open({ start: data.length + 1 })).rejects.toBeInstanceOf(SourceChangedError);
  });

  it('follows a symlink that stays inside the root, and a root that is itself a symlink', async () => {
    await symlink(file, path.join(root, 'alias.mp4'));
    const viaLink = await new LocalFileSource(path.join(root, 'alias.mp4'), [root]).stat();
    expect(viaLink.size).toBe(data.length);
    const linkedRoot = path.join(tmp.path, 'linked-root');
    await symlink(root, linkedRoot);
    expect((await new LocalFileSource(path.join(linkedRoot, 'clip.mp4'), [linkedRoot]).stat()).size).toBe(
      data.length,
    );
    expect((await new LocalFileSource(file, [linkedRoot]).stat()).size).toBe(data.length);
  });

  it('honours an aborted signal', async () => {
    const source = new LocalFileSource(file, [root]);
    await expect(source.stat(AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    const reader = await source.open({ start: 0 });
    await expect(reader.read(Buffer.alloc(10), AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    await reader.close();
  });
});

describe('LocalFileSource refuses', () => {
  const forbidden = async (p: string, roots: string[] = [root]) => {
    const err = await new LocalFileSource(p, roots).stat().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceForbiddenError);
    const openErr = await new LocalFileSource(p, roots).open({ start: 0 }).catch((e: unknown) => e);
    expect(openErr).toBeInstanceOf(SourceForbiddenError);
    return err as SourceForbiddenError;
  };

  it('`..` escapes, without revealing whether the target exists', async () => {
    await writeFile(path.join(tmp.path, 'secret.txt'), 'secret');
    expect((await forbidden(path.join(root, '..', 'secret.txt'))).details).toEqual({
      reason: 'OUTSIDE_ROOTS',
    });
    expect((await forbidden(`${root}/../does-not-exist`)).details).toEqual({ reason: 'OUTSIDE_ROOTS' });
  });

  it('a symlink pointing out of the root', async () => {
    await writeFile(path.join(tmp.path, 'secret.txt'), 'secret');
    await symlink(path.join(tmp.path, 'secret.txt'), path.join(root, 'escape.mp4'));
    await symlink(tmp.path, path.join(root, 'up'));
    await forbidden(path.join(root, 'escape.mp4'));
    await forbidden(path.join(root, 'up', 'secret.txt'));
  });

  it("a sibling directory sharing the root's prefix", async () => {
    const evil = `${root}-evil`;
    await mkdir(evil);
    await writeFile(path.join(evil, 'a.mp4'), 'x');
    await forbidden(path.join(evil, 'a.mp4'));
    await symlink(path.join(evil, 'a.mp4'), path.join(root, 'to-evil.mp4'));
    await forbidden(path.join(root, 'to-evil.mp4'));
  });

  it('a FIFO (without blocking on it)', async () => {
    const fifo = path.join(root, 'pipe.mp4');
    await promisify(execFile)('mkfifo', [fifo]);
    expect((await forbidden(fifo)).details).toEqual({ reason: 'NOT_REGULAR' });
  });

  it('a directory, and a device', async () => {
    await mkdir(path.join(root, 'dir.mp4'));
    await forbidden(path.join(root, 'dir.mp4'));
    await forbidden('/dev/null', ['/dev']);
  });

  it('/proc/self/environ even with /proc as a root, and /sys files', async () => {
    expect((await forbidden('/proc/self/environ', ['/proc'])).details).toEqual({ reason: 'PSEUDO_FS' });
    expect((await forbidden('/sys/kernel/uevent_seqnum', ['/sys'])).details).toEqual({ reason: 'PSEUDO_FS' });
  });

  it('everything when no root is configured, and relative paths', async () => {
    expect((await forbidden(file, [])).details).toEqual({ reason: 'NO_ROOTS' });
    expect((await forbidden('media/clip.mp4')).details).toEqual({ reason: 'RELATIVE' });
  });

  it('an unreadable file (EACCES) as a fatal error', async () => {
    const { chmod } = await import('node:fs/promises');
    await chmod(tmp.path, 0o755);
    await chmod(file, 0o000);
    // Root reads anything: drop the effective uid for this check (reversible, the real uid stays 0).
    const asRoot = process.geteuid?.() === 0;
    if (asRoot) process.seteuid?.(65534);
    try {
      const err = await new LocalFileSource(file, [root]).open({ start: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceForbiddenError);
      expect(err).toMatchObject({ retryable: false, details: { reason: 'EACCES' } });
    } finally {
      if (asRoot) process.seteuid?.(0);
    }
  });

  it('a missing file as SourceNotFoundError (fatal)', async () => {
    const err = await new LocalFileSource(path.join(root, 'nope.mp4'), [root])
      .stat()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotFoundError);
    expect((err as SourceNotFoundError).retryable).toBe(false);
    await expect(resolveAllowedFile(path.join(root, 'nope', 'x.mp4'), [root])).rejects.toBeInstanceOf(
      SourceNotFoundError,
    );
  });
});

describe('LocalFileSource detects changes (SOURCE_CHANGED)', () => {
  it('between attempts: appended, rewritten with a new mtime, or replaced by another inode', async () => {
    const source = new LocalFileSource(file, [root]);
    const before = (await source.stat()).fingerprint;

    await appendFile(file, 'more');
    await expect(source.open({ start: 0, expectedFingerprint: before })).rejects.toBeInstanceOf(
      SourceChangedError,
    );

    await writeFile(file, data);
    const rewritten = (await source.stat()).fingerprint;
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    await expect(source.open({ start: 1, expectedFingerprint: rewritten })).rejects.toMatchObject({
      code: 'SOURCE_CHANGED',
    });

    // Same content, size and mtime: only the inode differs.
    const when = new Date('2024-01-02T03:04:05.000Z');
    await utimes(file, when, when);
    const stable = (await source.stat()).fingerprint;
    const replacement = path.join(root, 'replacement.tmp');
    await writeFile(replacement, data);
    await utimes(replacement, when, when);
    await rename(replacement, file);
    expect((await source.stat()).fingerprint).not.toBe(stable);
    await expect(source.open({ start: 0, expectedFingerprint: stable })).rejects.toBeInstanceOf(
      SourceChangedError,
    );
  });

  it('between reads of one attempt', async () => {
    const source = new LocalFileSource(file, [root]);
    const reader = await source.open({ start: 0, expectedFingerprint: (await source.stat()).fingerprint });
    expect(await reader.read(Buffer.alloc(1000))).toBe(1000);
    await appendFile(file, 'x');
    await expect(reader.read(Buffer.alloc(1000))).rejects.toBeInstanceOf(SourceChangedError);
    await reader.close();
  });
});
