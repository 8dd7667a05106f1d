import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root (this file is apps/metrics/src/test-support/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const INFRA = path.join(REPO_ROOT, 'infra');

export const readText = (...parts: string[]) => readFileSync(path.join(INFRA, ...parts), 'utf8');

/**
 * One YAML document (fails on YAML errors and duplicate keys, which `yaml` rejects by default).
 * `<<` merge keys are resolved, as docker compose does.
 */
export function readYaml<T = Record<string, unknown>>(...parts: string[]): T {
  return parse(readText(...parts), { merge: true }) as T;
}

/** Every document of a multi-document YAML file; throws on any parse error. */
export function readYamlDocs(...parts: string[]): Array<Record<string, unknown>> {
  return parseAllDocuments(readText(...parts), { merge: true }).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${parts.join('/')}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Record<string, unknown>;
  });
}

export const listFiles = (dir: string, ext: string) =>
  readdirSync(path.join(INFRA, dir))
    .filter((f) => f.endsWith(ext))
    .sort();

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface ExtractQueriesModule {
  loadDashboardQueries(dir?: string): DashboardQuery[];
  expandVariables(expr: string, variables?: Record<string, string>): string;
}

/** infra/grafana/extract-queries.ts, loaded at run time (it lives outside this package's sources). */
export async function loadExtractQueries(): Promise<ExtractQueriesModule> {
  const file = path.join(INFRA, 'grafana', 'extract-queries.ts');
  return (await import(pathToFileURL(file).href)) as ExtractQueriesModule;
}
