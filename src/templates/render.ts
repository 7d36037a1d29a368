/**
 * Per-recipient rendering of a compiled template version: Handlebars calls only, no MJML.
 * Links are replaced by signed tracking URLs as the template runs, and the destinations are
 * returned so the message row can store them: a click later redirects only to those.
 */
import type { TemplateDelegate } from 'handlebars';
import type { RenderContext } from '../core/render-context.ts';
import { signToken } from '../core/tokens.ts';
import type { CompiledTemplate } from './compile.ts';
import { createHandlebars, KNOWN_HELPERS, unescaped, type LinkTracker } from './handlebars.ts';

export interface RenderedEmail {
  subject: string;
  /** Display name of the sender, from the front matter (may be empty). */
  fromName: string;
  preheader: string;
  html: string;
  text: string;
  /** Destination of each tracked link, by link index. */
  links: string[];
}

/** Real tracking for a send; `preview` keeps the real destinations and adds no pixel. */
export type Tracking = { mode: 'send'; publicUrl: string; secret: string; messageId: number } | { mode: 'preview' };

const hb = createHandlebars();
const UNSAFE = /["'<>&`=\s]/;
const BLANK_GIF = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** A compiled template version, ready to render many recipients. Build once per version. */
export class Renderer {
  /**
   * Every part of the email as one template: the preheader, subject, sender name and text
   * are captured into `data.parts` (unescaped), then the HTML is the output. Handlebars
   * has a set-up cost per template call, so one call per recipient, not five.
   */
  private readonly email: TemplateDelegate;

  constructor(readonly template: CompiledTemplate) {
    const { subject, preheader, from_name: fromName = '' } = template.frontMatter;
    const capture = (name: string, source: string) => `{{#capture "${name}"}}${unescaped(source)}{{/capture}}`;
    const source =
      capture('preheader', preheader) +
      capture('subject', subject) +
      capture('fromName', fromName) +
      capture('text', template.text) +
      template.html;
    this.email = hb.compile(source, { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
  }

  render(context: Omit<RenderContext, 'preheader'>, tracking: Tracking): RenderedEmail {
    const tracker = createTracker(tracking);
    const parts: Record<string, string> = {};
    // A fresh root object: the captured preheader is written into it.
    const root: RenderContext = { ...context, preheader: '' };
    const html = this.email(root, { data: { tracker: tracker.api, parts } });
    return {
      subject: oneLine(parts.subject ?? ''),
      fromName: oneLine(parts.fromName ?? ''),
      preheader: root.preheader,
      html,
      text: parts.text ?? '',
      links: tracker.links,
    };
  }
}

function oneLine(text: string): string {
  return /\s\s|[\n\r\t]|^\s|\s$/.test(text) ? text.replace(/\s+/g, ' ').trim() : text;
}

function createTracker(tracking: Tracking): { api: LinkTracker; links: string[] } {
  const links: string[] = [];
  if (tracking.mode === 'preview') return { links, api: { click: (destination) => destination, open: () => BLANK_GIF } };
  const { publicUrl, secret, messageId } = tracking;
  const unsubscribePrefix = `${publicUrl}/u/`;
  const token = signToken({ kind: 'message', message: messageId }, secret);
  const clickPrefix = `${publicUrl}/t/c/${token}/`;
  return {
    links,
    api: {
      // publicUrl is a validated URL and the rest is base64url and digits.
      safe: !UNSAFE.test(publicUrl),
      click(destination) {
        // Links into the engine itself (unsubscribe) are already tracked where they land;
        // one with characters the engine never makes is tracked like any other link.
        if (destination.startsWith(unsubscribePrefix) && !UNSAFE.test(destination)) return destination;
        // An email has a dozen links or so: a scan of the array beats a Map here.
        let index = links.indexOf(destination);
        if (index < 0) index = links.push(destination) - 1;
        return clickPrefix + index;
      },
      open: () => `${publicUrl}/t/o/${token}.gif`,
    },
  };
}

/** The unsubscribe URL of a message for its customer. */
export function unsubscribeUrl(publicUrl: string, secret: string, messageId: number, customerId: number): string {
  return unsubscribeLink(publicUrl, signToken({ kind: 'unsubscribe', message: messageId, customer: customerId }, secret));
}

/** The unsubscribe URL of an unsubscribe token already signed. */
export function unsubscribeLink(publicUrl: string, token: string): string {
  return `${publicUrl}/u/${token}`;
}
