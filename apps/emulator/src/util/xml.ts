/** Escapes text for an XML element body. */
export function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

export type XmlValue = string | number | boolean | bigint | XmlNode | XmlNode[] | undefined;
export interface XmlNode {
  [name: string]: XmlValue;
}

function render(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) render(name, v, out);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) render(k, v, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${xmlEscape(String(value))}</${name}>`);
}

/** `<?xml …?>` + one root element; arrays repeat their element, undefined values are left out. */
export function toXml(root: string, body: XmlNode): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  render(root, body, out);
  return out.join('');
}
