/**
 * The flow view of a sequence: its steps drawn in order, each with the rates of every arm
 * (sent, delivered, human open and click rates, orders, revenue per delivered email,
 * unsubscribes, bounces), a link to the step's template preview and, from every count, to the
 * recipients behind it on the messages page.
 */
import { delayWords } from '../../core/step-delay.ts';
import { pct } from '../../analytics/format.ts';
import type { StepReport, VersionReport } from '../../analytics/report.ts';
import type { StoredDefinition } from '../../core/sequence.ts';
import type { FunnelStage as Stage } from '../../analytics/recipients.ts';
import type { Period } from '../query.ts';
import { int } from './format.ts';
import { recipientsLink } from './links.ts';
import type { Money } from './report-tables.tsx';

/** A share of `whole`, or a dash. */
const of = (part: number, whole: number) => (whole > 0 ? pct(part / whole) : '—');

interface FlowProps {
  sequence: string;
  period: Period;
  version: VersionReport;
  definition: StoredDefinition;
  money: Money;
}

function StepRates({
  s,
  arm,
  link,
  money,
  codes,
}: {
  s: StepReport;
  arm: string;
  link: (stage: Stage) => string;
  money: Money;
  /** Show the codes column (a step of this version offers a discount code). */
  codes: boolean;
}) {
  const count = (stage: Stage, n: number) => (n > 0 ? <a href={link(stage)}>{int(n)}</a> : int(n));
  return (
    <tr data-arm={arm} data-step={s.step}>
      <td>{arm}</td>
      <td data-field="sent">{count('sent', s.sent)}</td>
      <td data-field="deliveredRate">
        {count('delivered', s.delivered)} <span class="muted">{of(s.delivered, s.sent)}</span>
      </td>
      <td data-field="openRate">
        {count('opened', s.opens.human)} <span class="muted">{of(s.opens.human, s.delivered)}</span>
      </td>
      <td data-field="clickRate">
        {count('clicked', s.clicks.human)} <span class="muted">{of(s.clicks.human, s.delivered)}</span>
      </td>
      <td data-field="orders">{count('ordered', s.conversions)}</td>
      <td data-field="revenuePerDelivered">{money(s.revenuePerRecipient)}</td>
      <td data-field="unsubscribes">
        {count('unsubscribed', s.unsubscribes)} <span class="muted">{of(s.unsubscribes, s.delivered)}</span>
      </td>
      <td data-field="bounces">
        {count('bounced', s.bounced)} <span class="muted">{of(s.bounced, s.sent)}</span>
      </td>
      {codes && (
        <td data-field="codes">
          {int(s.codes.redeemed)} of {int(s.codes.issued)} <span class="muted">{money(Number(s.codes.discountCost))} off</span>
        </td>
      )}
    </tr>
  );
}

/** The steps as a flow, one node per step with a row of rates per arm that gets email. */
export function FlowView({ sequence, period, version, definition, money }: FlowProps) {
  const arms = version.arms.filter((a) => !a.holdout);
  const holdout = version.arms.find((a) => a.holdout);
  const codes = arms.some((a) => a.codes.issued > 0);
  return (
    <div id="flow">
      <p class="muted">
        Per step and arm: delivered of sent; human opens, clicks and unsubscribes of delivered; orders attributed to the step; revenue per
        delivered email. Every count opens the recipients behind it.
        {holdout && ` The holdout (${int(holdout.enrolled)} enrolled customers) gets no email.`}
      </p>
      <div class="flow">
        {definition.steps.map((step, i) => {
          const templates = [
            ...new Set(definition.variants.map((v) => v.templates[step.template] ?? step.template).filter((t) => t !== undefined)),
          ];
          return (
            <>
              {i > 0 && (
                <span class="arrow" aria-hidden="true">
                  →
                </span>
              )}
              <section class="node" data-step={i + 1}>
                <h3>
                  {i + 1}. {delayWords(step.delay)}
                </h3>
                <p class="muted">
                  {templates.map((t, j) => {
                    const id = definition.templateVersions[t];
                    return (
                      <>
                        {j > 0 && ', '}
                        {id === undefined ? <code>{t}</code> : <a href={`/preview?version=${id}`}>{t}</a>}
                      </>
                    );
                  })}
                  {step.recommendations && ` · ${step.recommendations}`}
                  {step.skip_if && ` · skip if ${Object.keys(step.skip_if).join(', ')}`}
                </p>
                <div class="scroll">
                  <table>
                    <thead>
                      <tr>
                        <th>arm</th>
                        <th>sent</th>
                        <th>delivered</th>
                        <th>opened</th>
                        <th>clicked</th>
                        <th>orders</th>
                        <th>per email</th>
                        <th>unsubscribed</th>
                        <th>bounced</th>
                        {codes && <th title="codes redeemed of those this step issued, and what they took off">codes redeemed</th>}
                      </tr>
                    </thead>
                    <tbody>
                      {arms.map((arm) => {
                        const s = arm.steps.find((x) => x.step === i + 1);
                        if (!s) return null;
                        const link = (stage: Stage) =>
                          recipientsLink({ sequence, version: version.versionId, arm: arm.arm, step: i + 1, stage, period });
                        return <StepRates s={s} arm={arm.arm} link={link} money={money} codes={codes} />;
                      })}
                    </tbody>
                  </table>
                </div>
              </section>
            </>
          );
        })}
      </div>
    </div>
  );
}
