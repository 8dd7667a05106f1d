/**
 * RFC 3986 encoding as Alibaba Cloud signatures use it: encodeURIComponent plus `! ' ( ) *`
 * (which encodeURIComponent leaves alone).
 */
export function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
