/**
 * `campaign sequences check|apply|list|pause|resume|schema`: what marketers run to put a
 * sequence live; `plan` (./plan.ts) before, `promote` (./promote.ts) and `log` after a test.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { sequenceExists } from '../../analytics/sequences.ts';
import { decisionLabel, evidenceSummary } from '../../core/promote.ts';
import { sequenceJsonSchema } from '../../core/sequence.ts';
import { configuredClock, withDatabase } from '../../runtime.ts';
import { applySequence, consentWarnings, loadSequenceFiles, offersCodes, unknownPoolProblems } from '../../sequences/files.ts';
import { poolNames } from '../../store/discount-codes.ts';
import { listDecisions, type Decision } from '../../store/experiment-log.ts';
import { changeSequenceStatus } from '../../store/audit-log.ts';
import { listSequences } from '../../store/sequences.ts';
import type { ConfigSource } from '../options.ts';
import { registerPlan } from './plan.ts';
import { MAX_BY, osUser, registerPromote, textOption } from './promote.ts';
import { UserError, YamlSourceError } from '../../errors.ts';

export function registerSequences(program: Command, config: ConfigSource): void {
  const sequences = program.command('sequences').description('check, apply, list, pause and resume email sequences');
  const dirOption = ['--dir <path>', 'sequences folder (default: SEQUENCES_DIR or ./templates/sequences)'] as const;
  const load = async (dir: string | undefined) => {
    const { files, problems } = await loadSequenceFiles(dir ?? config().sequencesDir);
    for (const p of problems) process.stderr.write(p + '\n');
    return { files, problems };
  };

  registerPlan(sequences, config, load);
  registerPromote(sequences, config, load);

  sequences
    .command('log')
    .description("the sequence's experiment log, newest first: what was tested, what was decided, by whom, on what evidence")
    .argument('<id>')
    .option('--json', 'print the log as JSON (the same as GET /api/sequences/:id/log)')
    .action(async (id: string, options: { json?: boolean }) => {
      await withDatabase(config(), async ({ db }) => {
        if (!(await sequenceExists(db, id))) throw new UserError(`no sequence "${id}" (see \`campaign sequences list\`)`);
        const decisions = await listDecisions(db, id);
        if (options.json) process.stdout.write(JSON.stringify(decisions, null, 2) + '\n');
        else process.stdout.write(formatLog(id, decisions));
      });
    });

  sequences
    .command('check')
    .description('report every error with file:line and what is expected (exit 1 on any)')
    .option(...dirOption)
    .action(async (options: { dir?: string }) => {
      const { files, problems } = await load(options.dir);
      const checked = files.length + new Set(problems.map((p) => p.split(':')[0])).size;
      // A pool an offer names must exist: only then is the database opened.
      if (offersCodes(files)) {
        const unknown = unknownPoolProblems(files, await withDatabase(config(), ({ db }) => poolNames(db)));
        for (const p of unknown) process.stderr.write(p + '\n');
        problems.push(...unknown);
      }
      const warnings = consentWarnings(files);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const warned = warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : '';
      process.stdout.write(`${checked} sequence files checked: ${problems.length} errors${warned}\n`);
      if (problems.length) process.exitCode = 1;
    });

  sequences
    .command('apply')
    .description('store an immutable version of each sequence and make it live')
    .argument('[ids...]', 'sequences to apply (default: all)')
    .option(...dirOption)
    .action(async (ids: string[], options: { dir?: string }) => {
      const { files, problems } = await load(options.dir);
      if (problems.length) throw new UserError(`${problems.length} errors; nothing was applied`);
      const chosen = ids.length ? files.filter((f) => ids.includes(f.definition.id)) : files;
      const unknown = ids.filter((id) => !files.some((f) => f.definition.id === id));
      if (unknown.length) throw new UserError(`no sequence file with id ${unknown.map((u) => `"${u}"`).join(', ')}`);
      await withDatabase(config(), async ({ db }) => {
        const unknown = offersCodes(chosen) ? unknownPoolProblems(chosen, await poolNames(db)) : [];
        for (const p of unknown) process.stderr.write(p + '\n');
        if (unknown.length) throw new UserError(`${unknown.length} errors; nothing was applied`);
        for (const file of chosen) {
          const result = await applySequence(db, file).catch((error: unknown) => {
            throw error instanceof YamlSourceError ? new UserError(error.message) : error;
          });
          process.stdout.write(`${result.id}: ${result.created ? 'applied' : 'unchanged,'} version ${result.version}, live\n`);
        }
      });
    });

  sequences
    .command('list')
    .description('sequences, their live version and enrollments')
    .action(async () => {
      await withDatabase(config(), async ({ db }) => {
        const rows = await listSequences(db);
        if (!rows.length) process.stdout.write('no sequences applied yet: run `campaign sequences apply`\n');
        for (const r of rows)
          process.stdout.write(
            `${r.id.padEnd(24)} ${r.status.padEnd(7)} version ${r.version ?? '-'}  ${r.enrolled} enrolled, ${r.active} active  ${r.name}\n`,
          );
      });
    });

  for (const [name, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const)
    sequences
      .command(name)
      .description(name === 'pause' ? 'stop new enrollments and hold pending steps' : 'enroll and send again')
      .argument('<id>')
      .option('--by <name>', 'who does it, for the audit log (default: your user name)', textOption('--by', MAX_BY))
      .action(async (id: string, options: { by?: string }) => {
        const settings = config();
        await withDatabase(settings, async ({ db }) => {
          const at = configuredClock(settings).now();
          const change = await changeSequenceStatus(db, { sequenceId: id, status, actor: options.by ?? osUser(), at });
          if (!change.found) throw new UserError(`no sequence "${id}"`);
          process.stdout.write(`${id}: ${status}\n`);
        });
      });

  sequences
    .command('schema')
    .description('write the JSON Schema of sequence files (for editors)')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (options: { out?: string }) => {
      const text = JSON.stringify(sequenceJsonSchema(), null, 2) + '\n';
      if (options.out) await writeFile(options.out, text);
      else process.stdout.write(text);
    });
}

/** The experiment log for people: one block per decision, newest first. */
function formatLog(id: string, decisions: Decision[]): string {
  if (decisions.length === 0) return `${id}: no decisions yet (\`campaign sequences promote ${id} VARIANT\` records one)\n`;
  const lines = [`${id}: ${decisions.length} decision${decisions.length === 1 ? '' : 's'}, newest first`];
  for (const d of decisions) {
    lines.push(
      `${d.decidedAt.toISOString()}  version ${d.version}  tested ${d.tested.join(', ')}  ${decisionLabel(d)}  by ${d.decidedBy}`,
      ...(d.note === null ? [] : [`  note: ${d.note}`]),
      `  evidence: ${evidenceSummary(d.evidence)}`,
      ...(d.nextFile === null ? [] : [`  next version written to ${d.nextFile}`]),
    );
  }
  return lines.join('\n') + '\n';
}
