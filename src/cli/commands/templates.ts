/**
 * `campaign templates check|publish|list|preview`: what marketers run while writing emails.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { sendTestEmail } from '../../mail/transport.ts';
import { loadRules } from '../../recs/rules.ts';
import { configuredClock, openConfiguredDatabase, withDatabase } from '../../runtime.ts';
import { checkTemplates, type CheckReport } from '../../templates/check.ts';
import { compileTemplate, type CompiledTemplate } from '../../templates/compile.ts';
import { buildContext } from '../../templates/context.ts';
import { Renderer, unsubscribeUrl } from '../../templates/render.ts';
import { emailNames, loadTemplateFiles } from '../../templates/source.ts';
import { findTemplateVersion, listTemplates, publishTemplate } from '../../store/templates.ts';
import type { ConfigSource } from '../options.ts';
import { ContextError, UserError, formatDiagnostic, type Diagnostic } from '../../errors.ts';

export function registerTemplates(program: Command, config: ConfigSource): void {
  const templates = program.command('templates').description('author, check, preview and publish email templates');
  const dirOption = ['--dir <path>', 'templates folder (default: TEMPLATES_DIR or ./templates)'] as const;

  templates
    .command('check')
    .description('report every error (exit 1) and warning in the templates, with file:line')
    .argument('[names...]', 'emails to check (default: all)')
    .option(...dirOption)
    .action(async (names: string[], options: { dir?: string }) => {
      const { chosen, report } = await checked(options.dir ?? config().templatesDir, names);
      const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
      process.stdout.write(`${chosen.length} emails checked: ${errors} errors, ${report.diagnostics.length - errors} warnings\n`);
      if (errors) process.exitCode = 1;
    });

  templates
    .command('publish')
    .description('compile and store an immutable version of each email (nothing is stored if any has an error)')
    .argument('[names...]', 'emails to publish (default: all)')
    .option(...dirOption)
    .action(async (names: string[], options: { dir?: string }) => {
      const settings = config();
      const { report } = await checked(options.dir ?? settings.templatesDir, names);
      refuseErrors(report.diagnostics, 'nothing was published');
      // Publish what the check just compiled: MJML runs once per email.
      await withDatabase(settings, async ({ db }) => {
        for (const compiled of report.compiled) {
          const version = await publishTemplate(db, compiled, report.assembled.get(compiled.name)!);
          process.stdout.write(
            `${compiled.name}: ${version.created ? 'published' : 'unchanged,'} version ${version.id} (${version.contentHash.slice(0, 12)})\n`,
          );
        }
      });
    });

  templates
    .command('list')
    .description('published templates and their newest versions')
    .action(async () => {
      await withDatabase(config(), async ({ db }) => {
        const rows = await listTemplates(db);
        if (rows.length === 0) process.stdout.write('no templates published yet: run `campaign templates publish`\n');
        for (const r of rows)
          process.stdout.write(
            `${r.name.padEnd(24)} version ${r.latestId} (${r.contentHash.slice(0, 12)}), ${r.versions} in all, published ${new Date(r.publishedAt).toISOString()}\n`,
          );
      });
    });

  templates
    .command('preview')
    .description("render an email for a real customer's data and recommendations")
    .argument('<name>', 'the email, e.g. thank-you')
    .requiredOption('--customer <id>', 'customer_id of the customer to render for')
    .option('--order <id>', 'order_id of the trigger order (default: their latest order)')
    .option('--out <file.html>', 'write the HTML here')
    .option('--text <file.txt>', 'write the plain-text part here')
    .option('--version <id>', 'render a published version instead of the files', (v) => Number.parseInt(v, 10))
    .option('--send-test <email>', 'also send it to this address through SMTP_URL')
    .option(...dirOption)
    .action(async (name: string, options: PreviewOptions) => {
      const settings = config();
      if (!options.out && !options.text && !options.sendTest)
        throw new UserError('say where the preview goes: --out FILE.html, --text FILE.txt or --send-test EMAIL');
      if (options.sendTest && !settings.smtpUrl) throw new UserError('set SMTP_URL to send a test email');
      const database = await openConfiguredDatabase(settings);
      try {
        const compiled = await templateFor(database.db, settings, name, options);
        const context = await buildContext(database.db, settings, {
          customerId: options.customer,
          orderId: options.order,
          links: { unsubscribe: unsubscribeUrl(settings.publicUrl, settings.secretKey, 0, 0), shop: settings.shop.url },
          rules: await loadRules(settings.recsRulesFile),
          now: configuredClock(settings).now(),
        }).catch((error: unknown) => {
          throw error instanceof ContextError ? new UserError(error.message) : error;
        });
        const email = new Renderer(compiled).render(context, { mode: 'preview' });
        if (options.out) await writeFile(options.out, email.html);
        if (options.text) await writeFile(options.text, email.text + '\n');
        process.stdout.write(`subject: ${email.subject}\npreheader: ${email.preheader}\n`);
        process.stdout.write(`recommendations: ${context.recommendations.map((r) => r.name).join(', ') || 'none'}\n`);
        process.stdout.write(`upsells: ${context.upsells.map((r) => r.name).join(', ') || 'none'}\n`);
        if (options.out) process.stdout.write(`html: ${options.out} (${(Buffer.byteLength(email.html) / 1024).toFixed(1)} KB)\n`);
        if (options.sendTest) {
          try {
            const response = await sendTestEmail(settings.smtpUrl!, email, { to: options.sendTest, fromAddress: settings.mailFrom });
            process.stdout.write(`test sent to ${options.sendTest}: ${response}\n`);
          } catch (error) {
            throw new UserError(`the SMTP server refused the test email: ${(error as Error).message}`);
          }
        }
      } finally {
        await database.close();
      }
    });
}

interface PreviewOptions {
  customer: string;
  order?: string;
  out?: string;
  text?: string;
  version?: number;
  sendTest?: string;
  dir?: string;
}

async function templateFor(
  db: Parameters<typeof findTemplateVersion>[0],
  settings: Config,
  name: string,
  options: PreviewOptions,
): Promise<CompiledTemplate> {
  if (options.version !== undefined) {
    const stored = await findTemplateVersion(db, { id: options.version });
    if (!stored || stored.name !== name) throw new UserError(`no published version ${options.version} of "${name}"`);
    return stored.compiled;
  }
  const set = await loadTemplateFiles(options.dir ?? settings.templatesDir);
  const result = await compileTemplate(set, name);
  printDiagnostics(result.diagnostics);
  refuseErrors(result.diagnostics, 'no preview was made');
  return result.compiled!;
}

/** Loads the templates, checks the chosen emails (all by default) and prints what it found. */
async function checked(dir: string, names: string[]): Promise<{ chosen: string[]; report: CheckReport }> {
  const set = await loadTemplateFiles(dir);
  const chosen = names.length ? names : emailNames(set);
  const report = await checkTemplates(set, chosen);
  printDiagnostics(report.diagnostics);
  return { chosen, report };
}

function printDiagnostics(diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
}

function refuseErrors(diagnostics: Diagnostic[], consequence: string): void {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (errors) throw new UserError(`${errors} template errors; ${consequence}`);
}
