/**
 * Human or machine: opens and clicks from mail privacy proxies, image proxies, link
 * scanners and prefetchers are not people reading. Each machine event keeps its reason.
 */
export interface TrackedRequest {
  type: 'open' | 'click';
  method: string;
  userAgent: string;
  ip: string;
  /** When the message was handed to SMTP; null when unknown. */
  sentAt: Date | null;
  at: Date;
}

export type Verdict = { isHuman: true; reason: null } | { isHuman: false; reason: MachineReason };
export type MachineReason = 'head-request' | 'apple-mpp' | 'image-proxy' | 'scanner-ua' | 'too-fast';

const IMAGE_PROXIES = /GoogleImageProxy|YahooMailProxy|Yahoo! Slurp|ggpht\.com|Outlook-iOS-Android|OutlookImageProxy/i;
const SCANNERS =
  /bot\b|crawler|spider|scanner|barracuda|mimecast|proofpoint|safelinks|bitdefender|trendmicro|symantec|forcepoint|headlesschrome|phantomjs/i;
/**
 * HTTP client libraries and command-line tools: a program fetching the URL, not a person
 * in a mail client. Matched as the library's product token (`name/version`) anywhere, or
 * its name alone at the start (`undici`, Node's `node`, `got (https://...)`). Browser user
 * agents carry none of these tokens.
 */
const CLIENT_NAMES =
  'axios|node-fetch|undici|node|got|python-requests|python-urllib|python-httpx|aiohttp|urllib3|httpx|requests|curl|wget|' +
  'go-http-client|okhttp|java|java-http-client|apache-httpclient|jakarta commons-httpclient|libwww-perl|lwp-request|lwp::simple|' +
  'guzzlehttp|php|ruby|faraday|http\\.rb|rest-client|typhoeus|dart|reqwest|hyper|httpie|wget2|powershell|winhttp|restsharp|' +
  'postmanruntime|insomnia|deno|bun|scrapy|httpclient|cpp-httplib|libcurl|aria2|fasthttp|colly|okio';
const HTTP_CLIENTS = new RegExp(`^(?:${CLIENT_NAMES})(?:[/\\s(]|$)|\\b(?:${CLIENT_NAMES})/\\d`, 'i');
/** Opens and clicks this soon after sending are prefetches, not people. */
export const TOO_FAST_MS = { open: 2_000, click: 10_000 } as const;

export function classify(request: TrackedRequest): Verdict {
  const machine = (reason: MachineReason): Verdict => ({ isHuman: false, reason });
  if (request.method.toUpperCase() === 'HEAD') return machine('head-request');
  // Apple Mail Privacy Protection fetches every image through Apple's 17.0.0.0/8 network.
  if (request.type === 'open' && (request.ip.startsWith('17.') || request.ip.startsWith('::ffff:17.'))) return machine('apple-mpp');
  if (IMAGE_PROXIES.test(request.userAgent)) return machine('image-proxy');
  if (SCANNERS.test(request.userAgent) || HTTP_CLIENTS.test(request.userAgent) || request.userAgent.trim() === '')
    return machine('scanner-ua');
  if (request.sentAt && request.at.getTime() - request.sentAt.getTime() < TOO_FAST_MS[request.type]) return machine('too-fast');
  return { isHuman: true, reason: null };
}
