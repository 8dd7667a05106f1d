/**
 * 200+ requests no API should accept: broken JSON, wrong types, huge strings, unknown fields, wrong
 * content types, oversized bodies, bad ids and queries. Each must answer 4xx with a JSON error.
 */

export interface MalformedRequest {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replaces (or with `undefined` deletes) the value at a dotted path of a JSON object. */
function mutate(base: Record<string, Json>, dotted: string, value: Json | undefined): Record<string, Json> {
  const copy = structuredClone(base);
  const keys = dotted.split('.');
  let node = copy as Record<string, Json>;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, Json>;
  const last = keys.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

export interface MalformedContext {
  /** A bearer token whose service may submit jobs. */
  token: string;
  /** An existing file inside MEDIAFERRY_FILE_ROOTS (the valid base spec uses it). */
  validFile: string;
  /** An absolute path inside the roots that does not exist. */
  missingFile: string;
}

export function malformedRequests(ctx: MalformedContext): MalformedRequest[] {
  const json = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  const out: MalformedRequest[] = [];
  const post = (
    label: string,
    body: string | Uint8Array,
    headers: Record<string, string> = json,
    path = '/v1/jobs',
  ) => out.push({ label, method: 'POST', path, headers, body });
  const base: Record<string, Json> = {
    source: { type: 'file', path: ctx.validFile },
    media: { type: 'video', title: 'Malformed' },
  };

  // Broken JSON and non-object JSON.
  const rawBodies = [
    '',
    '{',
    '}',
    '{"source":',
    '{"source": {"type": "file", "path": "/x"}',
    '[',
    '[]',
    'null',
    'true',
    '0',
    '"a string"',
    '{"a":1,}',
    "{'source': 1}",
    '{"source": undefined}',
    '{"source": NaN}',
    '{"source": Infinity}',
    '{"source": 0x10}',
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"x": 1}}}',
    '\u0000',
    '{"media": "\\ud800"}',
    '{"source": {"type": "file", "path": "/x"}}garbage',
    '[1,2,3]',
    '{"source": [{"type": "file"}]}',
  ];
  for (const [i, b] of rawBodies.entries()) post(`raw body ${i}: ${JSON.stringify(b).slice(0, 40)}`, b);
  post('invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
  post('deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`);

  // Wrong types at every field (each value invalid there).
  const badValues: Json[] = [null, true, 1.5, -1, [], {}, '', 'x'.repeat(20_000), { nested: { deep: [1] } }];
  const paths = [
    'source',
    'source.type',
    'source.path',
    'media',
    'media.type',
    'media.title',
    'media.cateId',
    'target',
    'priority',
    'callbackUrl',
    'idempotencyKey',
    'media.fileName',
  ];
  for (const p of paths) {
    for (const v of badValues)
      post(`${p} = ${JSON.stringify(v).slice(0, 30)}`, JSON.stringify(mutate(base, p, v)));
  }

  // Missing required fields, unknown fields, semantic refusals.
  const specs: [string, Record<string, Json>][] = [
    ['no source', mutate(base, 'source', undefined)],
    ['no media', mutate(base, 'media', undefined)],
    ['no title', mutate(base, 'media.title', undefined)],
    ['empty object', {}],
    ['unknown top-level field', { ...base, extra: 1 }],
    ['unknown media field', mutate(base, 'media.colour', 'red')],
    ['unknown source field', mutate(base, 'source.mode', 'fast')],
    ['headers on a file source', mutate(base, 'source.headers', { a: 'b' })],
    ['relative path', mutate(base, 'source.path', 'relative/a.mp4')],
    ['path with NUL', mutate(base, 'source.path', '/tmp/a\u0000.mp4')],
    ['path outside the roots', mutate(base, 'source.path', '/etc/passwd')],
    ['path escaping the roots', mutate(base, 'source.path', `${ctx.validFile}/../../../../etc/passwd`)],
    ['missing file', mutate(base, 'source.path', ctx.missingFile)],
    ['ftp url', { ...base, source: { type: 'url', url: 'ftp://example.com/a.mp4' } }],
    ['file url', { ...base, source: { type: 'url', url: 'file:///etc/passwd' } }],
    ['javascript url', { ...base, source: { type: 'url', url: 'javascript:alert(1)' } }],
    ['not a url', { ...base, source: { type: 'url', url: 'not a url' } }],
    [
      'url with CRLF header',
      { ...base, source: { type: 'url', url: 'http://127.0.0.1/a', headers: { a: 'b\r\nc: d' } } },
    ],
    [
      'url with bad header name',
      { ...base, source: { type: 'url', url: 'http://127.0.0.1/a', headers: { 'a b': 'c' } } },
    ],
    [
      'url headers not strings',
      { ...base, source: { type: 'url', url: 'http://127.0.0.1/a', headers: { a: 1 } } },
    ],
    ['unknown media type', mutate(base, 'media.type', 'hologram')],
    ['attached without businessType', { ...base, media: { type: 'attached', title: 'x' } }],
    ['attached with bad businessType', { ...base, media: { type: 'attached', businessType: 'poster' } }],
    [
      'attached with dotted extension',
      { ...base, media: { type: 'attached', businessType: 'subtitle', fileExtension: '.vtt' } },
    ],
    ['image with bad imageType', { ...base, media: { type: 'image', imageType: 'huge' } }],
    [
      'tags too many',
      mutate(
        base,
        'media.tags',
        Array.from({ length: 17 }, (_, i) => `t${i}`),
      ),
    ],
    ['tag too long', mutate(base, 'media.tags', ['t'.repeat(33)])],
    ['tags not strings', mutate(base, 'media.tags', [1, 2])],
    ['description too long', mutate(base, 'media.description', 'd'.repeat(1025))],
    ['title too long', mutate(base, 'media.title', 't'.repeat(129))],
    ['fileName with slash', mutate(base, 'media.fileName', 'a/b.mp4')],
    ['coverUrl not a url', mutate(base, 'media.coverUrl', 'cover')],
    ['userData not an object', mutate(base, 'media.userData', 'x')],
    ['oss target without bucket', { ...base, target: { type: 'oss', key: 'k' } }],
    ['oss target with bad bucket', { ...base, target: { type: 'oss', bucket: 'UPPER_case', key: 'k' } }],
    [
      'oss target with absolute key',
      { ...base, target: { type: 'oss', bucket: 'mediaferry-local', key: '/k' } },
    ],
    [
      'oss target with huge key',
      { ...base, target: { type: 'oss', bucket: 'mediaferry-local', key: 'k'.repeat(2000) } },
    ],
    ['unknown target type', { ...base, target: { type: 's3' } }],
    ['priority too high', mutate(base, 'priority', 1_000_000)],
    ['priority as string', mutate(base, 'priority', '1')],
    ['callbackUrl ftp', mutate(base, 'callbackUrl', 'ftp://hooks/x')],
    ['title 200k chars', mutate(base, 'media.title', 'x'.repeat(200_000))],
  ];
  for (const [label, spec] of specs) post(label, JSON.stringify(spec));

  // Wrong content types with a valid JSON body.
  const valid = JSON.stringify(base);
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'image/png',
    'text/html',
  ]) {
    post(`content-type ${type}`, valid, { authorization: json.authorization, 'content-type': type });
  }
  post('no content-type', new TextEncoder().encode(valid), { authorization: json.authorization });

  // Oversized bodies (single-job limit 256 KiB; batch 32 MiB).
  post(
    '300 KiB body',
    JSON.stringify({ ...base, media: { type: 'video', title: 'x', description: 'd'.repeat(300 * 1024) } }),
  );
  post('2 MiB body', JSON.stringify({ pad: 'p'.repeat(2 * 1024 * 1024) }));
  post(
    '33 MiB batch',
    JSON.stringify({ jobs: [base], pad: 'p'.repeat(33 * 1024 * 1024) }),
    json,
    '/v1/jobs/batch',
  );

  // Batches malformed as a whole.
  for (const [label, body] of [
    ['batch without jobs', '{}'],
    ['batch jobs empty', '{"jobs": []}'],
    ['batch jobs not an array', '{"jobs": "x"}'],
    ['batch jobs object', '{"jobs": {"0": {}}}'],
    ['batch of 1001', JSON.stringify({ jobs: Array.from({ length: 1001 }, () => base) })],
    ['batch unknown field', JSON.stringify({ jobs: [base], extra: true })],
    ['batch broken JSON', '{"jobs": ['],
  ] as const) {
    post(label, body, json, '/v1/jobs/batch');
  }
  post(
    'batch with Idempotency-Key',
    JSON.stringify({ jobs: [base] }),
    { ...json, 'idempotency-key': 'k' },
    '/v1/jobs/batch',
  );
  post('Idempotency-Key too long', valid, { ...json, 'idempotency-key': 'k'.repeat(300) });
  post('Idempotency-Key differs from body', JSON.stringify({ ...base, idempotencyKey: 'a' }), {
    ...json,
    'idempotency-key': 'b',
  });

  // Bad ids, queries, methods and routes.
  const auth = { authorization: json.authorization };
  const get = (label: string, path: string, method = 'GET') =>
    out.push({ label, method, path, headers: auth });
  for (const q of [
    'limit=abc',
    'limit=0',
    'limit=-5',
    'limit=100000',
    'limit=1.5',
    'status=bogus',
    'status=',
    'cursor=../../etc',
    'cursor=%00',
    'unknown=1',
    `cursor=${'c'.repeat(5000)}`,
    'limit=1&limit=2',
  ]) {
    get(`list ?${q.slice(0, 30)}`, `/v1/jobs?${q}`);
  }
  for (const id of [
    'nope',
    'job_doesnotexist',
    '%00',
    '..%2F..%2Fetc',
    'x'.repeat(3000),
    'job_%27%20OR%201%3D1',
  ]) {
    get(`get ${id.slice(0, 20)}`, `/v1/jobs/${id}`);
    get(`delete ${id.slice(0, 20)}`, `/v1/jobs/${id}`, 'DELETE');
    get(`retry ${id.slice(0, 20)}`, `/v1/jobs/${id}/retry`, 'POST');
    get(`events ${id.slice(0, 20)}`, `/v1/jobs/${id}/events`);
  }
  for (const [method, path] of [
    ['PUT', '/v1/jobs'],
    ['PATCH', '/v1/jobs'],
    ['DELETE', '/v1/jobs'],
    ['GET', '/v1/jobs/batch/x'],
    ['GET', '/v2/jobs'],
    ['POST', '/v1/upload-auth/x/y/z'],
    ['GET', '/../../etc/passwd'],
    ['GET', '/v1/%ff'],
  ] as const) {
    get(`${method} ${path}`, path, method);
  }

  // No or bad credentials (401 even for broken bodies).
  const noAuth: [string, Record<string, string>][] = [
    ['no Authorization', { 'content-type': 'application/json' }],
    ['empty bearer', { authorization: 'Bearer ', 'content-type': 'application/json' }],
    ['wrong token', { authorization: 'Bearer wrong-token', 'content-type': 'application/json' }],
    ['basic scheme', { authorization: `Basic ${ctx.token}`, 'content-type': 'application/json' }],
    ['token without scheme', { authorization: ctx.token, 'content-type': 'application/json' }],
    [
      'bearer lower-case with a suffix',
      { authorization: `bearer ${ctx.token}x`, 'content-type': 'application/json' },
    ],
  ];
  for (const [label, headers] of noAuth) {
    post(`${label} (valid body)`, valid, headers);
    post(`${label} (broken body)`, '{', headers);
  }
  return out;
}
