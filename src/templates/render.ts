/**
 * Per-recipient rendering of a compiled template version: Handlebars calls only, no MJML.
 * Links are replaced by signed tracking URLs as the template runs, and the destinations are
 * returned so the message row can store them: a click later redirects only to those.
 */
import type { TemplateDelegate } from 'handlebars';
import type { RenderContext } from '../core/render-context.ts';
import { signToken } from '../core/tokens.ts';
import type { CompiledTemplate } from './compile.ts';
import { createHandlebars, KNOWN_HELPERS, type LinkTracker } from './handlebars.ts';

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
const BLANK_GIF = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** A compiled template version, ready to render many recipients. Build once per version. */
export class Renderer {
  private readonly html: TemplateDelegate;
  private readonly text: TemplateDelegate;
  private readonly subject: TemplateDelegate;
  private readonly preheader: TemplateDelegate;
  private readonly fromName: TemplateDelegate;

  constructor(readonly template: CompiledTemplate) {
    const options = { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true };
    this.html = hb.compile(template.html, options);
    this.text = hb.compile(template.text, { ...options, noEscape: true });
    this.subject = hb.compile(template.frontMatter.subject, { ...options, noEscape: true });
    this.preheader = hb.compile(template.frontMatter.preheader, { ...options, noEscape: true });
    this.fromName = hb.compile(template.frontMatter.from_name ?? '', { ...options, noEscape: true });
  }

  render(context: Omit<RenderContext, 'preheader'>, tracking: Tracking): RenderedEmail {
    const tracker = createTracker(tracking);
    const data = { tracker: tracker.api };
    const preheader = oneLine(this.preheader(context, { data }));
    const full = { ...context, preheader };
    return {
      subject: oneLine(this.subject(full, { data })),
      fromName: oneLine(this.fromName(full, { data })),
      preheader,
      html: this.html(full, { data }),
      text: this.text(full, { data }).replace(/\n{3,}/g, '\n\n'),
      links: tracker.links,
    };
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function createTracker(tracking: Tracking): { api: LinkTracker; links: string[] } {
  const links: string[] = [];
  if (tracking.mode === 'preview') return { links, api: { click: (destination) => destination, open: () => BLANK_GIF } };
  const { publicUrl, secret, messageId } = tracking;
  const indexOf = new Map<string, number>();
  return {
    links,
    api: {
      click(destination) {
        // Links into the engine itself (unsubscribe) are already tracked where they land.
        if (destination.startsWith(`${publicUrl}/u/`)) return destination;
        let index = indexOf.get(destination);
        if (index === undefined) {
          index = links.push(destination) - 1;
          indexOf.set(destination, index);
        }
        return `${publicUrl}/t/c/${signToken({ kind: 'click', message: messageId, link: index }, secret)}`;
      },
      open: () => `${publicUrl}/t/o/${signToken({ kind: 'open', message: messageId }, secret)}.gif`,
    },
  };
}

/** The unsubscribe URL of a message for its customer. */
export function unsubscribeUrl(publicUrl: string, secret: string, messageId: number, customerId: number): string {
  return `${publicUrl}/u/${signToken({ kind: 'unsubscribe', message: messageId, customer: customerId }, secret)}`;
}
