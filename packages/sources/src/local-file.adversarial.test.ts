import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open as openFile, rename, symlink, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { SourceChangedError, type SourceReader } from '@mediaferry/core';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileSource } from './local-file.source.js';

/** Adversarial review of file sources: special files, pseudo filesystems, odd spellings, files that move. */

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function readAll(reader: SourceReader, chunk = 256 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(chunk);
    const n = await reader.read(buf);
    parts.push(buf.subarray(0, n));
    if (n < chunk) return Buffer.concat(parts);
  }
}

let tmp: TempDir;
let root: string;
let data: Buffer;
let file: string;

beforeEach(async () => {
  tmp = await makeTempDir('mf-sources-file-adv-');
  root = path.join(tmp.path, 'media');
  await mkdir(root);
  data = randomBytes(1024 * 1024 + 7);
  file = path.join(root, 'clip.mp4');
  await writeFile(file, data);
});

afterEach(async () => {
  await tmp.remove();
});

/** Neither stat nor open may succeed; the error is a refusal (forbidden or not found), never a read. */
const refused = async (p: string, roots: string[] = [root]) => {
  for (const attempt of [
    () => new LocalFileSource(p, roots).stat(),
    () => new LocalFileSource(p, roots).open({ start: 0 }),
  ]) {
    const err = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, p).toMatchObject({
      code: expect.stringMatching(/^SOURCE_(FORBIDDEN|NOT_FOUND)$/),
      retryable: false,
    });
  }
};

describe('special files are refused, even when a root contains them', () => {
  it('/dev/zero, /dev/stdin, /dev/urandom with /dev or / as a root', async () => {
    for (const roots of [['/dev'], ['/']]) {
      for (const p of ['/dev/zero', '/dev/stdin', '/dev/urandom', '/dev/fd/0']) await refused(p, roots);
    }
  });

  it('/proc/self/fd/N of an open file outside the root, /proc/self/mem, /proc/self/environ', async () => {
    const secret = path.join(tmp.path, 'secret.txt');
    await writeFile(secret, 'secret');
    const handle = await openFile(secret, 'r');
    try {
      await refused(`/proc/self/fd/${handle.fd}`);
      await refused(`/proc/self/fd/${handle.fd}`, ['/proc']);
      await refused(`/proc/${process.pid}/fd/${handle.fd}`, ['/proc']);
      await refused('/proc/self/mem', ['/']);
      await refused('/proc/self/environ', ['/']);
      // Through symlinks planted inside the root.
      await symlink(`/proc/self/fd/${handle.fd}`, path.join(root, 'fd.mp4'));
      await symlink('/dev/zero', path.join(root, 'zero.mp4'));
      await symlink('/dev/stdin', path.join(root, 'stdin.mp4'));
      await symlink('/proc/self/environ', path.join(root, 'env.mp4'));
      for (const name of ['fd.mp4', 'zero.mp4', 'stdin.mp4', 'env.mp4']) await refused(path.join(root, name));
      await refused(path.join(root, 'env.mp4'), [root, '/proc']);
    } finally {
      await handle.close();
    }
  });

  it('a unix socket inside the root', async () => {
    const sock = path.join(root, 'live.mp4');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      await refused(sock);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('odd spellings of a path', () => {
  it('`//`, `/./` and a `..` that comes back inside read the same file', async () => {
    for (const p of [`${root}//clip.mp4`, `${root}/./clip.mp4`, `${root}/x/../clip.mp4`, `/${file}`]) {
      const reader = await new LocalFileSource(p, [root]).open({ start: 0 });
      expect(sha256(await readAll(reader)), p).toBe(sha256(data));
      await reader.close();
    }
  });

  it('a root given with a trailing slash or `//` still confines', async () => {
    await writeFile(path.join(tmp.path, 'secret.txt'), 'secret');
    for (const r of [`${root}/`, `${root}//`, `${root}/.`]) {
      expect((await new LocalFileSource(file, [r]).stat()).size).toBe(data.length);
      await refused(path.join(root, '..', 'secret.txt'), [r]);
      await refused(`${root}-evil/x.mp4`, [r]);
    }
  });

  it('a trailing slash on a file never reads something else', async () => {
    const got = await new LocalFileSource(`${file}/`, [root]).open({ start: 0 }).then(
      async (reader) => {
        const bytes = await readAll(reader);
        await reader.close();
        return bytes;
      },
      (e: unknown) => e,
    );
    if (Buffer.isBuffer(got)) expect(sha256(got)).toBe(sha256(data));
    else expect(got).toMatchObject({ code: expect.stringMatching(/^SOURCE_(FORBIDDEN|NOT_FOUND)$/) });
  });
});

describe('files that change while being read', () => {
  it('truncated mid-read: SOURCE_CHANGED, never a short read passed off as the end', async () => {
    const source = new LocalFileSource(file, [root]);
    const reader = await source.open({ start: 0, expectedFingerprint: (await source.stat()).fingerprint });
    expect(await reader.read(Buffer.alloc(1000))).toBe(1000);
    await truncate(file, 5000);
    await expect(readAll(reader)).rejects.toBeInstanceOf(SourceChangedError);
    await reader.close();
  });

  it('replaced by rename mid-read: the open descriptor keeps the old bytes; a resume is SOURCE_CHANGED', async () => {
    const source = new LocalFileSource(file, [root]);
    const { fingerprint } = await source.stat();
    const reader = await source.open({ start: 0, expectedFingerprint: fingerprint });
    const head = Buffer.alloc(4096);
    expect(await reader.read(head)).toBe(head.length);
    const replacement = path.join(root, 'new.tmp');
    await writeFile(replacement, randomBytes(data.length));
    await rename(replacement, file);
    const tail = await readAll(reader);
    await reader.close();
    expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(data)); // one consistent version, never a mix
    await expect(source.open({ start: 4096, expectedFingerprint: fingerprint })).rejects.toBeInstanceOf(
      SourceChangedError,
    );
  });

  it('a hardlink inside the root is the same regular file (allowed), and shares its fingerprint', async () => {
    const alias = path.join(root, 'alias.mp4');
    await link(file, alias);
    const a = await new LocalFileSource(file, [root]).stat();
    const b = await new LocalFileSource(alias, [root]).stat();
    expect(b.fingerprint).toBe(a.fingerprint);
  });
});
