import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Source } from '@mediaferry/core';
import { makeTempDir } from '@mediaferry/testkit';
import { LocalFileSource } from './local-file.source.js';
import { closeSourcePolicy, createSource } from './source-factory.js';
import type { SourcePolicy } from './source-policy.js';
import { type MediaOptions, mediaHandler, startServer } from './test-support/http-server.js';
import { sourceConformance } from './test-support/source.conformance.js';

sourceConformance(
  'file',
  async () => {
    const dir = await makeTempDir('mf-source-conf-');
    const paths = new Map<Source, string>();
    return {
      async make(data, name) {
        const file = path.join(dir.path, name);
        await writeFile(file, data);
        const source = new LocalFileSource(file, [dir.path]);
        paths.set(source, file);
        return source;
      },
      missing: () => new LocalFileSource(path.join(dir.path, `missing-${randomUUID()}.mp4`), [dir.path]),
      async change(source, data) {
        // A new inode and mtime, as an editor or a copy would leave it.
        const file = paths.get(source)!;
        await writeFile(`${file}.new`, data);
        const { rename } = await import('node:fs/promises');
        await rename(`${file}.new`, file);
      },
      teardown: () => dir.remove(),
    };
  },
  { seekable: true, changes: true },
);

sourceConformance(
  'url',
  async () => {
    const served = new Map<string, MediaOptions>();
    const server = await startServer((req, res) => {
      const options = served.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (!options) return void res.writeHead(404).end();
      mediaHandler(options)(req, res);
    });
    const policy: SourcePolicy = { fileRoots: [], allowPrivate: true, maxUrlBytes: 64 * 1024 * 1024 };
    const urls = new Map<Source, string>();
    return {
      async make(data, name) {
        const urlPath = `/${randomUUID()}/${name}`;
        served.set(urlPath, { data });
        const source = createSource({ type: 'url', url: `${server.url}${urlPath}` }, policy);
        urls.set(source, urlPath);
        return source;
      },
      missing: () => createSource({ type: 'url', url: `${server.url}/missing/${randomUUID()}.mp4` }, policy),
      async change(source, data) {
        served.get(urls.get(source)!)!.data = data;
      },
      async teardown() {
        await closeSourcePolicy(policy);
        await server.close();
      },
    };
  },
  { seekable: true, changes: true },
);
