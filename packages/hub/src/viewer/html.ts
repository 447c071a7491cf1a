/**
 * String escaping for the renderer: fast paths for the common case of text that needs
 * none, because outputs can be megabytes long.
 */

const TEXT_SPECIALS = /[&<>"']/;
const TEXT_ALL = /[&<>"']/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  if (!TEXT_SPECIALS.test(text)) return text;
  return text.replace(TEXT_ALL, (c) => ENTITIES[c]!);
}

const ATTR_SPECIALS = /[&"]/;
const ATTR_ALL = /[&"]/g;

/**
 * Escapes a whole document for a double-quoted attribute (`srcdoc="…"`): only `&` and
 * `"` end or change such a value, so only they are replaced.
 */
export function escapeDoubleQuotedAttr(text: string): string {
  if (!ATTR_SPECIALS.test(text)) return text;
  return text.replace(ATTR_ALL, (c) => (c === '&' ? '&amp;' : '&quot;'));
}

/**
 * A `data:` URI of base64 image data, safe inside a double-quoted attribute. Outputs are
 * large, so nothing is scanned with a regex: only `&` and `"` could change the attribute
 * (found with indexOf); any other stray character merely breaks the image, and the URL
 * parser drops line breaks by itself.
 */
export function imageDataUri(mime: string, base64: string): string {
  const safe = base64.indexOf('"') < 0 && base64.indexOf('&') < 0 ? base64 : escapeDoubleQuotedAttr(base64);
  return `data:${mime};base64,${safe}`;
}
