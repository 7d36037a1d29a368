/**
 * What a storable text and an email address are, and a bounded preview of any value, for
 * the input records (./records.ts). Pure: no zod here, only the rules and their messages.
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `value` cannot be stored as text, or undefined when it can. Postgres `text` and
 * `jsonb` refuse the NUL character and UTF-16 surrogates that are not part of a pair, so
 * such a value is refused at validation, naming where the bad character is (counting
 * from 1, in UTF-16 code units as JavaScript counts a string's length).
 */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  const lone = LONE_SURROGATE.exec(value);
  if (lone) return `must be valid Unicode text (a lone surrogate at position ${lone.index + 1})`;
  return undefined;
}

/** RFC 5321: at most 64 octets before the @, 254 for the whole address. */
export const EMAIL_LOCAL_MAX = 64;
export const EMAIL_MAX = 254;

// RFC 5322 dot-atom: words of atext separated by single dots. Quoted local parts and
// non-ASCII local parts (RFC 6531, which needs SMTPUTF8 at every hop) are not accepted.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const ASCII_DOMAIN = /^[A-Za-z0-9.-]+$/;
const UNICODE_DOMAIN = /^[\p{L}\p{M}\p{N}.-]+$/u;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
// A top-level domain: letters, or the punycode of an internationalised one (xn--p1ai).
const TOP_LABEL = /^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/i;

const utf8Length = (value: string) => new TextEncoder().encode(value).length;

/**
 * Why `value` is not an email address we can send to, or undefined when it is. The domain
 * may be internationalised (`ana@münchen.de`) or its punycode (`ana@xn--mnchen-3ya.de`):
 * either is sent as punycode. Lengths are the RFC 5321 limits, in octets.
 */
export function emailProblem(value: string): string | undefined {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return 'must be an email address';
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (!LOCAL_PART.test(local))
    return "must be an email address such as ana@example.com (before the @: letters, digits and !#$%&'*+/=?^_`{|}~- in words separated by single dots)";
  if (local.length > EMAIL_LOCAL_MAX) return `must be an email address with at most ${EMAIL_LOCAL_MAX} characters before the @ (RFC 5321)`;
  const ascii = asciiDomain(domain);
  if (ascii === undefined) return 'must be an email address with a domain such as example.com after the @';
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label)) || !TOP_LABEL.test(labels[labels.length - 1]!))
    return 'must be an email address with a domain such as example.com after the @';
  if (Math.max(local.length + 1 + ascii.length, utf8Length(value)) > EMAIL_MAX)
    return `must be an email address of at most ${EMAIL_MAX} characters (RFC 5321)`;
  return undefined;
}

/** The ASCII (punycode) form of a domain as given, or undefined when it is not a domain name. */
function asciiDomain(domain: string): string | undefined {
  if (ASCII_DOMAIN.test(domain)) return domain;
  if (!UNICODE_DOMAIN.test(domain)) return undefined;
  try {
    // The WHATWG URL parser applies IDNA (UTS #46): `münchen.de` → `xn--mnchen-3ya.de`.
    const host = new URL(`http://${domain}/`).hostname;
    return ASCII_DOMAIN.test(host) ? host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * At most `max` characters of JSON-like text showing `value`, for an error message.
 * Walks only as far as the budget allows, so a value nested thousands deep (or a huge
 * one) costs no more than a small one, and never cuts a surrogate pair in half.
 */
export function preview(value: unknown, max = 60): string {
  const out: string[] = [];
  let length = 0;
  const full = () => length >= max;
  const put = (piece: string) => {
    out.push(piece);
    length += piece.length;
  };
  const walk = (node: unknown): void => {
    if (full()) return;
    if (Array.isArray(node)) {
      put('[');
      for (let i = 0; i < node.length && !full(); i++) {
        if (i > 0) put(',');
        walk(node[i]);
      }
      put(']');
    } else if (node !== null && typeof node === 'object') {
      put('{');
      let first = true;
      for (const key of Object.keys(node)) {
        if (full()) break;
        if (!first) put(',');
        first = false;
        put(`${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`);
        walk((node as Record<string, unknown>)[key]);
      }
      put('}');
    } else if (typeof node === 'string') {
      put(JSON.stringify(node.length > max ? node.slice(0, max) : node));
    } else {
      put(typeof node === 'bigint' ? String(node) : (JSON.stringify(node) ?? String(node)));
    }
  };
  walk(value);
  const text = out.join('');
  if (text.length <= max && !truncatedString(value, max)) return text;
  // Cut by code points so no surrogate pair is split.
  return `${Array.from(text)
    .slice(0, max - 3)
    .join('')}...`;
}

const truncatedString = (value: unknown, max: number) => typeof value === 'string' && value.length > max;
