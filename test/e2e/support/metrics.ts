/** Sum of a Prometheus counter/gauge over all its label sets in a text exposition page. */
export function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((n, l) => {
      const rest = l.startsWith(`${name}{`) ? l.slice(l.lastIndexOf('}') + 1) : l.slice(name.length);
      return n + Number(rest.trim().split(/\s+/)[0]);
    }, 0);
}

/** GETs `<baseUrl>/metrics` and sums `name`. */
export async function scrapeMetric(baseUrl: string, name: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return metricSum(await res.text(), name);
}
