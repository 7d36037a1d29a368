/**
 * The actions that follow a result, and their record: the buttons of a sequence (pause or
 * resume, promote a variant, end the test), the page that confirms a pause or resume by
 * saying what it does, the page that shows the evidence before a promotion or the end of a
 * test, the page of a decision once taken, and the audit log's short list ("paused by Ada,
 * 6 Dec 2026, 14:02 UTC").
 */
import type { SequenceReport, VersionReport } from '../../analytics/report.ts';
import type { PromotionDecision } from '../../core/promote.ts';
import { PAUSE_RECHECK_MS } from '../../core/step-policy.ts';
import type { EvidenceLines } from '../../sequences/promotion.ts';
import type { AuditEntry } from '../../store/audit-log.ts';
import type { Decision } from '../../store/experiment-log.ts';
import { humanDate, int } from './format.ts';
import { Layout } from './layout.tsx';

/** Long unbroken text (paths, keys) wraps rather than widening the page. */
const WRAP = { overflowWrap: 'anywhere' } as const;

const sequencePath = (id: string) => `/sequences/${encodeURIComponent(id)}`;

/** What an audit line says was done, before "by whom, when". */
function auditWhat(entry: Pick<AuditEntry, 'action' | 'detail'>): string {
  const variant = typeof entry.detail.variant === 'string' ? entry.detail.variant : '?';
  const forced = entry.detail.forced === true ? ' (forced, against the evidence)' : '';
  switch (entry.action) {
    case 'pause':
      return 'paused';
    case 'resume':
      return 'resumed';
    case 'promote':
      return `promoted ${variant}${forced}`;
    case 'end':
      return `ended the test, kept the control ${variant}${forced}`;
  }
}

/** One audit line in words, the moment in the shop's time zone: `paused by Ada, 6 Dec 2026, 14:02 UTC`. */
export function auditLine(entry: Pick<AuditEntry, 'action' | 'detail' | 'actor' | 'at'>, timeZone = 'UTC'): string {
  return `${auditWhat(entry)} by ${entry.actor}, ${humanDate(entry.at, timeZone)}`;
}

/** A sequence's audit lines, newest first, as a short list (the loader decides how many). */
export function AuditList({ audit, timeZone = 'UTC' }: { audit: AuditEntry[]; timeZone?: string | undefined }) {
  if (audit.length === 0)
    return (
      <p class="muted" id="audit-log">
        Nobody has paused, resumed, promoted or ended a test here yet.
      </p>
    );
  return (
    <ul id="audit-log" style={WRAP}>
      {audit.map((entry) => (
        <li data-action={entry.action} data-audit={entry.id}>
          {auditLine(entry, timeZone)}
          {typeof entry.detail.decisionId === 'number' && (
            <>
              {' '}
              (<a href={`${sequencePath(entry.sequenceId)}/decisions/${entry.detail.decisionId}`}>decision {entry.detail.decisionId}</a>)
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

export interface SequenceActionsProps {
  /** The sequence (its report: id and status are read). */
  sequence: Pick<SequenceReport, 'id' | 'status'>;
  /** The version the page shows: promote and end-test buttons appear for the live one, when it tests something. */
  version: Pick<VersionReport, 'live' | 'control' | 'arms'>;
  /** Its audit lines, newest first: when given, the list follows the buttons. */
  audit?: AuditEntry[] | undefined;
  /** The shop's time zone, for the audit lines' moments. */
  timeZone?: string | undefined;
}

/**
 * The buttons of a sequence: Pause or Resume, Promote per challenger, End test. Each opens a
 * page that says what it will do (and, for a decision, shows the evidence) before anything
 * changes.
 */
export function SequenceActions({ sequence, version, audit, timeZone }: SequenceActionsProps) {
  const base = sequencePath(sequence.id);
  const paused = sequence.status === 'paused';
  const challengers = version.arms.filter((a) => !a.holdout && a.arm !== version.control).map((a) => a.arm);
  const testing = version.live && challengers.length > 0;
  return (
    <section id="sequence-actions">
      <div class="actions">
        <a class="button" id="toggle" href={`${base}/${paused ? 'resume' : 'pause'}`}>
          {paused ? 'Resume…' : 'Pause…'}
        </a>
        {testing &&
          challengers.map((arm) => (
            <a class="button secondary" data-variant={arm} href={`${base}/promote?variant=${encodeURIComponent(arm)}`}>
              Promote {arm}…
            </a>
          ))}
        {testing && (
          <a class="button secondary" id="end-test" href={`${base}/end`}>
            End test (keep {version.control})…
          </a>
        )}
      </div>
      {audit && <AuditList audit={audit} timeZone={timeZone} />}
    </section>
  );
}

/** The page for a sequence id that names none (or a decision id that names none of its decisions). */
export function ActionNotFound({ id, decision }: { id: string; decision?: number }) {
  return (
    <Layout title="Not found">
      <h1 style={WRAP}>{decision === undefined ? `No sequence "${id}"` : `No decision ${decision} on sequence "${id}"`}</h1>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </Layout>
  );
}

/** Every `PAUSE_RECHECK_MS` in words. */
const recheck = PAUSE_RECHECK_MS === 3_600_000 ? 'every hour' : `every ${Math.round(PAUSE_RECHECK_MS / 60_000)} minutes`;
const withinRecheck = PAUSE_RECHECK_MS === 3_600_000 ? 'within the hour' : `within ${Math.round(PAUSE_RECHECK_MS / 60_000)} minutes`;

export interface StatusPageProps {
  sequence: { id: string; name: string; status: 'active' | 'paused'; active: number };
  action: 'pause' | 'resume';
  /** The live version's `exit.on`: whether ordering again ends an enrollment. */
  exitOnOrder: boolean;
  audit: AuditEntry[];
  timeZone?: string | undefined;
}

/**
 * The confirmation of a pause or resume: what it does, in the engine's own terms (the step
 * policy, src/core/step-policy.ts, and the enrollment worker's live sequences), then the
 * button that does it.
 */
export function StatusConfirmPage({ sequence, action, exitOnOrder, audit, timeZone }: StatusPageProps) {
  const base = sequencePath(sequence.id);
  const pausing = action === 'pause';
  const already = sequence.status === (pausing ? 'paused' : 'active');
  const enrollments = `${int(sequence.active)} enrollment${sequence.active === 1 ? '' : 's'}`;
  return (
    <Layout title={`${pausing ? 'Pause' : 'Resume'} ${sequence.name}`}>
      <h1 style={WRAP}>
        {pausing ? 'Pause' : 'Resume'} {sequence.name}?
      </h1>
      <p class="muted" style={WRAP}>
        {sequence.id} is{' '}
        <span class={`badge ${sequence.status}`} id="status">
          {sequence.status}
        </span>{' '}
        · {enrollments} active
      </p>
      {already ? (
        <div class="notice" id="already">
          It is already {sequence.status}: nothing to do.{' '}
          <a href={`${base}/${pausing ? 'resume' : 'pause'}`}>{pausing ? 'Resume it' : 'Pause it'}</a> or{' '}
          <a href={base}>go back to the sequence</a>.
        </div>
      ) : (
        <>
          <div class="card" id="what-it-does">
            <h3>{pausing ? 'What pausing does' : 'What resuming does'}</h3>
            {pausing ? (
              <ul>
                <li>
                  <strong>New orders are not enrolled</strong> while it is paused, and not later either: a customer whose order comes in
                  during the pause never gets this sequence, and is not counted in its test.
                </li>
                <li>
                  <strong>Scheduled emails wait.</strong> The enrollments still active ({int(sequence.active)} now) keep their place and
                  their arm; an email that comes due during the pause is held and looked at again {recheck}, and goes out at the first look
                  after you resume (quiet hours and the frequency cap still apply).
                </li>
                <li>
                  Exits still happen: a customer who unsubscribes or complains, or whose address is suppressed (a hard bounce)
                  {exitOnOrder ? ', or who orders again,' : ''} leaves the sequence when their next email comes due.
                </li>
                <li>Nothing already sent changes, and the report goes on counting the orders of the customers already enrolled.</li>
              </ul>
            ) : (
              <ul>
                <li>
                  <strong>New orders enroll again</strong> from now on; the orders that came in while it was paused stay unenrolled.
                </li>
                <li>
                  <strong>Held emails go out</strong> at their next look, {withinRecheck}, then the sequence runs on its schedule (quiet
                  hours and the frequency cap apply).
                </li>
              </ul>
            )}
          </div>
          <form method="post" action={`${base}/${action}`} class="actions">
            <button type="submit" id="confirm" class={pausing ? 'danger' : undefined}>
              {pausing ? 'Pause' : 'Resume'} {sequence.name}
            </button>
            <a class="button secondary" href={base}>
              Cancel
            </a>
          </form>
        </>
      )}
      <h2>Recent actions</h2>
      <AuditList audit={audit} timeZone={timeZone} />
    </Layout>
  );
}

export interface EvidencePageProps {
  sequence: { id: string; name: string };
  /** A promotion (of `decision.variant`) or the end of the test (keeping the control). */
  kind: 'promote' | 'end';
  /** The variant asked for (known even when the evidence could not be read). */
  variant: string;
  /** The evidence, when it could be read: the decision, its words, the version and moment. */
  evidence?:
    | {
        decision: PromotionDecision;
        lines: EvidenceLines;
        version: number;
        asOf: Date;
        minSample: number;
        /** The sequence file the next version goes into, as loaded. */
        path: string;
        /** The promoted variant's weight in the next version. */
        weight: number;
      }
    | undefined;
  /** Why nothing can be done from here (no file, a file changed since it was applied...). */
  problem?: string | undefined;
  /** Set after a refused POST: why, above everything else. */
  refused?: string | undefined;
  /** Who the logs will name. */
  actor: string;
  /** The note given in a refused attempt, kept. */
  note?: string | null | undefined;
  timeZone?: string | undefined;
}

/** The evidence for promoting a variant (or keeping the control), in the command's words, then the form that carries it out. */
export function EvidencePage({ sequence, kind, variant, evidence, problem, refused, actor, note, timeZone = 'UTC' }: EvidencePageProps) {
  const base = sequencePath(sequence.id);
  const ending = kind === 'end';
  const title = ending ? `End the test of ${sequence.name}` : `Promote ${variant} in ${sequence.name}`;
  const decision = evidence?.decision;
  const blocked = !decision || decision.blocking.length > 0;
  const what = ending ? `keeping the control ${variant}` : `promoting ${variant}`;
  return (
    <Layout title={title}>
      <h1 style={WRAP}>
        {ending ? `End the test of ${sequence.name}: keep the control ${variant}?` : `Promote ${variant} in ${sequence.name}?`}
      </h1>
      {refused && (
        <div class="alert" id="refused" style={WRAP}>
          <strong>Refused:</strong> {refused}
        </div>
      )}
      {problem && (
        <div class="alert" id="problem" style={WRAP}>
          {problem}
        </div>
      )}
      {evidence && decision && (
        <>
          <p class="muted" style={WRAP}>
            {sequence.id}, version {evidence.version} (live), evidence as of {humanDate(evidence.asOf, timeZone)}; a verdict needs{' '}
            {int(evidence.minSample)} measured customers per arm.
          </p>
          <div id="verdict" data-supported={String(decision.supported)} class={decision.supported ? 'card winner' : 'alert'} style={WRAP}>
            {decision.blocking.length > 0 ? (
              <>
                <strong>Nothing can be decided here:</strong>
                <ul id="blocking">
                  {decision.blocking.map((reason) => (
                    <li>{reason}</li>
                  ))}
                </ul>
              </>
            ) : decision.supported ? (
              <strong class="good">The evidence supports {what}.</strong>
            ) : (
              <>
                <strong>The evidence does not support {what}:</strong>
                <ul id="reasons">
                  {decision.reasons.map((reason) => (
                    <li>{reason}</li>
                  ))}
                </ul>
              </>
            )}
          </div>
          {decision.caveats.length > 0 && (
            <div class="notice" id="caveats" style={WRAP}>
              {decision.caveats.map((caveat) => (
                <p>Note: {caveat}</p>
              ))}
            </div>
          )}
          <h2>The evidence</h2>
          <p style={WRAP}>{evidence.lines.tested}</p>
          <p id="split" class={decision.srm.flagged ? 'alert' : undefined} style={WRAP}>
            {evidence.lines.split}
          </p>
          <div class="cards" id="evidence">
            {evidence.lines.comparisons.map((c) => (
              <div class="card" data-arm={c.arm} data-against={c.against} style={WRAP}>
                <h3>{c.title}</h3>
                <ul>
                  {c.lines.map((line) => (
                    <li>{line}</li>
                  ))}
                </ul>
              </div>
            ))}
          </div>
        </>
      )}
      {evidence && !blocked && !problem && (
        <>
          <h2>What it does</h2>
          <ul style={WRAP}>
            <li>
              Writes the next version of the sequence into <code>{evidence.path}</code>: {variant} the only variant (weight{' '}
              {evidence.weight}), with a commented place for a challenger; everything else in the file stays as it is.
            </li>
            <li>
              Records the decision in the experiment log, with this evidence, by <strong>{actor}</strong>
              {decision.supported ? '' : ', marked as forced'}; and a line in the audit log.
            </li>
            <li>
              Changes nothing that is sent yet: the live version runs on until the file is applied (
              <code>campaign sequences apply {sequence.id}</code>).
            </li>
          </ul>
          <form method="post" action={`${base}/${ending ? 'end' : 'promote'}`} class="stack" id="decide">
            {!ending && <input type="hidden" name="variant" value={variant} />}
            <label>
              Note for the experiment log (optional)
              <textarea name="note" rows={2} maxlength={2000} value={note ?? ''} />
            </label>
            {!decision.supported && (
              <label style={{ flexDirection: 'row', alignItems: 'center', gap: '.5rem', flexBasis: '100%' }}>
                <input type="checkbox" name="force" /> Force, against the evidence
              </label>
            )}
            <div class="actions">
              <button type="submit" id="confirm" class={decision.supported ? undefined : 'danger'}>
                {ending ? `End the test, keep ${variant}` : `Promote ${variant}`}
              </button>
              <a class="button secondary" href={base}>
                Cancel
              </a>
            </div>
          </form>
        </>
      )}
      {(blocked || problem) && (
        <p>
          <a href={base}>Back to the sequence</a>
        </p>
      )}
    </Layout>
  );
}

/** The caveats kept in a decision's evidence (what a supported decision does not prove). */
function caveatsOf(evidence: unknown): string[] {
  const caveats = (evidence as { caveats?: unknown } | null)?.caveats;
  return Array.isArray(caveats) ? caveats.filter((c): c is string => typeof c === 'string') : [];
}

/** A decision once taken: what it was, what was written, and the next step. */
export function DecisionPage({
  sequence,
  decision,
  audit,
  timeZone = 'UTC',
}: {
  sequence: { id: string; name: string };
  decision: Decision;
  audit: AuditEntry[];
  timeZone?: string | undefined;
}) {
  const base = sequencePath(sequence.id);
  const kept = decision.variant === decision.tested[0];
  return (
    <Layout title={`Decision ${decision.id}: ${sequence.name}`}>
      <h1 style={WRAP}>
        {kept
          ? `Ended the test of ${sequence.name}: kept the control ${decision.variant}`
          : `Promoted ${decision.variant} in ${sequence.name}`}
      </h1>
      <div class={decision.forced ? 'alert' : 'notice'} id="decision" data-decision={decision.id} style={WRAP}>
        Decision {decision.id} in the experiment log, by {decision.decidedBy}, {humanDate(decision.decidedAt, timeZone)}, on version{' '}
        {decision.version} (tested {decision.tested.join(', ')}){decision.forced ? <strong>: forced, against the evidence</strong> : ''}.
        {decision.note !== null && <> Note: {decision.note}</>}
      </div>
      {caveatsOf(decision.evidence).map((caveat) => (
        <p class="notice" style={WRAP}>
          Note: {caveat}
        </p>
      ))}
      <ul style={WRAP}>
        {decision.nextFile !== null && (
          <li>
            Wrote <code>{decision.nextFile}</code>: {decision.variant} is the only variant, with a commented place for a challenger.
          </li>
        )}
        <li>
          Next: read the file, add a challenger if you want one, then run <code>campaign sequences apply {sequence.id}</code>. Until then
          the live version runs on unchanged.
        </li>
      </ul>
      <p>
        <a href={base}>Back to the sequence</a>
      </p>
      <h2>Recent actions</h2>
      <AuditList audit={audit} timeZone={timeZone} />
    </Layout>
  );
}
