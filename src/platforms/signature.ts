/**
 * The signature both Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
 * (`X-WC-Webhook-Signature`) put on a webhook: the HMAC-SHA256 of the raw body under the
 * shared secret, base64. Compared in constant time; a header that is missing or not the
 * right length is simply wrong.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSignatureValid(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
