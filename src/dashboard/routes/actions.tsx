/**
 * The actions that follow a result: pause and resume (a page that says what they do, then
 * the POST that does it), promoting a variant and ending a test (the evidence first, then
 * the POST that carries the decision out as `campaign sequences promote` does, through the
 * same code: src/sequences/promotion.ts), and the page of a decision once taken. Every
 * change leaves a line in the audit log naming the session's holder (./auth.ts
 * `sessionActor`); a decision is also in the experiment log, by the same name.
 *
 * Ending a test is keeping the control: the decision `promote CONTROL` of the command, which
 * the rules (src/core/promote.ts) support when no challenger beat it, and which leaves the
 * control alone in the next version of the file.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { VNode } from 'preact';
import { moneyFormat } from '../../analytics/format.ts';
import { liveDefinition } from '../../analytics/series.ts';
import { UserError } from '../../errors.ts';
import { loadSequenceFiles } from '../../sequences/files.ts';
import { PROMOTED_WEIGHT } from '../../sequences/promote.ts';
import {
  carryOutPromotion,
  evidenceLines,
  promotionCase,
  sequenceFileFor,
  type PromotionCase,
  type PromotionDone,
} from '../../sequences/promotion.ts';
import { changeSequenceStatus, listAudit } from '../../store/audit-log.ts';
import { listDecisions } from '../../store/experiment-log.ts';
import { listSequences, type SequenceSummary } from '../../store/sequences.ts';
import { sessionActor } from '../auth.ts';
import { decisionParams, endTestBody, promoteBody, promoteQuery, sequenceParams } from '../query.ts';
import { ActionNotFound, DecisionPage, EvidencePage, StatusConfirmPage, type EvidencePageProps } from '../views/actions.tsx';
import { renderPage } from '../views/layout.tsx';
import type { PageDeps } from './deps.ts';

export interface ActionDeps extends PageDeps {
  /**
   * SEQUENCES_DIR: where the sequence files are, the next version of a promoted one written.
   * Without it the promote and end-test pages show the evidence's absence and change nothing.
   */
  sequencesDir?: string | undefined;
}

/** How many audit lines the action pages list. */
export const AUDIT_SHOWN = 10;

const sequencePath = (id: string) => `/sequences/${encodeURIComponent(id)}`;

/** Adds the action pages and their POSTs to `app` (behind the session hook). */
export async function actionPages(app: FastifyInstance, deps: ActionDeps): Promise<void> {
  const pages = app.withTypeProvider<ZodTypeProvider>();
  const money = moneyFormat(deps.currency);
  const timeZone = deps.timeZone ?? 'UTC';
  const html = (reply: FastifyReply, page: VNode, code = 200) => reply.code(code).type('text/html').send(renderPage(page));
  const summaryOf = async (id: string): Promise<SequenceSummary | undefined> => (await listSequences(deps.db)).find((s) => s.id === id);

  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const) {
    pages.get(`/sequences/:id/${action}`, { schema: { hide: true, params: sequenceParams } }, async (request, reply) => {
      const { id } = request.params;
      const summary = await summaryOf(id);
      if (!summary) return html(reply, <ActionNotFound id={id} />, 404);
      const [live, audit] = await Promise.all([liveDefinition(deps.db, id), listAudit(deps.db, id, AUDIT_SHOWN)]);
      const exitOnOrder = live?.definition.exit.on.includes('ordered_again') ?? false;
      return html(
        reply,
        <StatusConfirmPage sequence={summary} action={action} exitOnOrder={exitOnOrder} audit={audit} timeZone={timeZone} />,
      );
    });

    pages.post(`/sequences/:id/${action}`, { schema: { hide: true, params: sequenceParams } }, async (request, reply) => {
      const { id } = request.params;
      const change = await changeSequenceStatus(deps.db, { sequenceId: id, status, actor: sessionActor(request), at: deps.now() });
      if (!change.found) return reply.notFound('No such sequence.');
      return reply.redirect(sequencePath(id), 303);
    });
  }

  /** The file of sequence `id` in the sequences folder, or why the dashboard cannot write it. */
  const fileOf = async (id: string) => {
    const dir = deps.sequencesDir;
    if (!dir)
      return 'The dashboard has no sequences folder (SEQUENCES_DIR) to write the next version into: use `campaign sequences promote` instead.';
    try {
      return sequenceFileFor(await loadSequenceFiles(dir), id);
    } catch (error) {
      if (error instanceof UserError) return `The next version is written into the sequence file, and there is ${error.message} in ${dir}.`;
      throw error;
    }
  };

  /**
   * The evidence page for promoting `asked` in sequence `summary` (keeping the control, which
   * ends the test, when `asked` is undefined), and the case to carry out when it could be read.
   */
  const evidenceFor = async (
    summary: SequenceSummary,
    kind: 'promote' | 'end',
    asked: string | undefined,
    actor: string,
  ): Promise<{ props: EvidencePageProps; found?: PromotionCase }> => {
    const id = summary.id;
    const live = await liveDefinition(deps.db, id);
    const variant = asked ?? live?.definition.variants[0]?.key ?? '';
    const props: EvidencePageProps = { sequence: { id, name: summary.name }, kind, variant, actor };
    const file = await fileOf(id);
    if (typeof file === 'string') return { props: { ...props, problem: file } };
    try {
      const found = await promotionCase(deps.db, {
        sequenceId: id,
        variant,
        file,
        asOf: deps.now(),
        attribution: deps.attribution,
        minSample: deps.minSample,
        money,
      });
      const evidence = {
        decision: found.decision,
        lines: evidenceLines(found, money),
        version: found.version.version,
        asOf: new Date(found.asOf),
        minSample: found.minSample,
        path: file.path,
        weight: PROMOTED_WEIGHT,
      };
      return { props: { ...props, evidence }, found };
    } catch (error) {
      if (error instanceof UserError) return { props: { ...props, problem: `${error.message}.` } };
      throw error;
    }
  };

  /**
   * Carries out the decision of a POST: refused (409, the evidence page again, saying why)
   * when it cannot be read, something blocks it, or it goes against the evidence unforced;
   * otherwise on to the decision's page.
   */
  const decide = async (
    reply: FastifyReply,
    summary: SequenceSummary,
    kind: 'promote' | 'end',
    asked: string | undefined,
    form: { note: string | null; force: boolean },
    actor: string,
  ) => {
    const { props, found } = await evidenceFor(summary, kind, asked, actor);
    const again = (refused: string | undefined) =>
      html(reply, <EvidencePage {...props} refused={refused} note={form.note} timeZone={timeZone} />, 409);
    if (!found) return again(undefined);
    const { decision } = found;
    if (decision.blocking.length) return again(decision.blocking.join(' '));
    if (!decision.supported && !form.force)
      return again(
        `the evidence does not support ${kind === 'end' ? `keeping the control ${decision.variant}` : `promoting ${decision.variant}`}. Nothing was written or logged. Tick "Force, against the evidence" to do it anyway: the log will record it as forced.`,
      );
    let done: PromotionDone;
    try {
      done = await carryOutPromotion(deps.db, found, { force: form.force, by: actor, note: form.note, decidedAt: deps.now() });
    } catch (error) {
      if (error instanceof UserError) return again(error.message);
      throw error;
    }
    return reply.redirect(`${sequencePath(summary.id)}/decisions/${done.decisionId}`, 303);
  };

  const promotePage = { schema: { hide: true, params: sequenceParams, querystring: promoteQuery } };
  pages.get('/sequences/:id/promote', promotePage, async (request, reply) => {
    const { id } = request.params;
    const summary = await summaryOf(id);
    if (!summary) return html(reply, <ActionNotFound id={id} />, 404);
    const { props } = await evidenceFor(summary, 'promote', request.query.variant, sessionActor(request));
    return html(reply, <EvidencePage {...props} timeZone={timeZone} />);
  });

  pages.post('/sequences/:id/promote', { schema: { hide: true, params: sequenceParams, body: promoteBody } }, async (request, reply) => {
    const { id } = request.params;
    const summary = await summaryOf(id);
    if (!summary) return reply.notFound('No such sequence.');
    const { variant, note, force } = request.body;
    return decide(reply, summary, 'promote', variant, { note, force }, sessionActor(request));
  });

  pages.get('/sequences/:id/end', { schema: { hide: true, params: sequenceParams } }, async (request, reply) => {
    const { id } = request.params;
    const summary = await summaryOf(id);
    if (!summary) return html(reply, <ActionNotFound id={id} />, 404);
    const { props } = await evidenceFor(summary, 'end', undefined, sessionActor(request));
    return html(reply, <EvidencePage {...props} timeZone={timeZone} />);
  });

  pages.post('/sequences/:id/end', { schema: { hide: true, params: sequenceParams, body: endTestBody } }, async (request, reply) => {
    const { id } = request.params;
    const summary = await summaryOf(id);
    if (!summary) return reply.notFound('No such sequence.');
    const { note = null, force = false } = request.body ?? {};
    return decide(reply, summary, 'end', undefined, { note, force }, sessionActor(request));
  });

  pages.get('/sequences/:id/decisions/:decision', { schema: { hide: true, params: decisionParams } }, async (request, reply) => {
    const { id, decision: decisionId } = request.params;
    const summary = await summaryOf(id);
    const decision = summary && (await listDecisions(deps.db, id)).find((d) => d.id === decisionId);
    if (!summary) return html(reply, <ActionNotFound id={id} />, 404);
    if (!decision) return html(reply, <ActionNotFound id={id} decision={decisionId} />, 404);
    const audit = await listAudit(deps.db, id, AUDIT_SHOWN);
    return html(reply, <DecisionPage sequence={summary} decision={decision} audit={audit} timeZone={timeZone} />);
  });
}
