import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import type { Container } from '../main/container.js';
import type { Actor } from '../platform/auth/actor.js';
import { ADMIN_ACCOUNT } from '../platform/auth/manage-keys.js';
import { LINK_RECORD_FIELDS, TAG_SEPARATOR } from '../shortener/link-record.js';
import { exportLinks } from '../shortener/use-cases/export-links.js';
import { importLinks, sha256Of } from '../shortener/use-cases/import-links.js';
import { importSummary, SkipCollector } from './import-report.js';
import { LinkFileError, openLinkFile } from './link-file-reader.js';
import { writeLinks, type ExportFormat } from './link-file-writer.js';
import { Progress } from './progress.js';
import type { CliRuntime, Io } from './runtime.js';

const MAX_BATCH = 10_000;

const IMPORT_HELP = `
File formats:
  CSV (any name but *.json) with a header row naming the columns, in any order:
    ${LINK_RECORD_FIELDS.join(', ')}
  Only "url" is required; an unknown column stops the import before anything is written.
  JSON (*.json): an array of objects with the same fields, as \`tny links export --format json\` writes.

Cells:
  alias            the short key; empty: a key from KEY_STRATEGY (as the API makes them)
  tags             separated by "${TAG_SEPARATOR}" (tags never contain commas or spaces), so quote
                   the cell: "news${TAG_SEPARATOR}2024"
  expires_at       ISO 8601, e.g. 2030-01-31T00:00:00Z; a time in the past skips the row as "expired"
  max_clicks       a whole number; empty: unlimited
  redirect_status  301, 302, 307 or 308; empty: REDIRECT_STATUS
  forward_query, disabled   true/false (also 1/0, yes/no); empty: false
  password_hash    a hash from \`tny links export\` (scrypt$N$r$p$salt$hash), stored as it is
  created_at       ISO 8601, kept as the link's creation time; empty: now

Each row is checked like an API create; a bad row is skipped with its line number and reason
and the import goes on. Valid rows get their keys once and are staged on the database that
will own them, then written --batch at a time, one transaction per batch (per shard).

Crash-safe: the import is a saga (docs/patterns/saga.md) whose run id comes from the account
and the file's content. If the process dies, run the same command again: it resumes the run
("resuming run …") and every row ends up imported exactly once, with the keys it was given.
Importing a file that was imported already prints that run's report and writes nothing. If a
database fails for good, the links the run inserted are removed and the import fails.
Exit status: 0 when the import ran (even if rows were skipped), 2 for a bad file or arguments.`;

const EXPORT_HELP = `
Writes every link (expired and disabled ones too), oldest first, with the columns
  ${LINK_RECORD_FIELDS.join(', ')}
CSV joins tags with "${TAG_SEPARATOR}"; JSON is an array of objects with the same fields.
\`tny links import\` reads both back unchanged (expired links are skipped there).`;

/** `tny links import|export`: bulk links through the same use cases as the API. */
export function linksCommand(program: Command, runtime: CliRuntime): void {
  const links = program.command('links').description('import and export links');

  links
    .command('import <file>')
    .description('create links from a CSV or JSON file, skipping bad rows with a reason')
    .option('--account <name>', 'the account that owns the links', ADMIN_ACCOUNT)
    .option('--batch <rows>', `rows per transaction (1 to ${MAX_BATCH})`, '500')
    .option('--verbose', 'list every skipped row (not only the first 20)')
    .addHelpText('after', IMPORT_HELP)
    .action(async (path: string, opts: { account: string; batch: string; verbose?: boolean }) => {
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
        runtime.io.fail(`--batch must be a whole number from 1 to ${MAX_BATCH}, got "${opts.batch}"`);
      }
      const file = await openLinkFile(path).catch((err: unknown) => {
        if (err instanceof LinkFileError) return runtime.io.fail(err.message);
        throw err;
      });
      const sha256 = await sha256Of(createReadStream(path));
      try {
        await runtime.withContainer(async (c, io) => {
          const actor = await actorFor(c, io, opts.account);
          const clock = c.shortener.clock;
          const started = clock.now();
          const progress = new Progress(io.stderr, { label: 'importing', total: file.totalBytes, clock });
          const skips = new SkipCollector(opts.verbose === true);
          let rows = 0;
          const deps = { sagas: c.sagas.runner, partitions: c.sagas.partitions, faults: c.sagas.faults };
          const result = await importLinks(c.shortener, deps, { ...actor, accountName: opts.account }, { rows: file.rows, sha256 }, {
            batchSize,
            onSkip: (row) => skips.add(row),
            onPlannedSkips: (counts, first) => skips.restore(counts, first),
            onRow: () => progress.update(file.bytesRead(), ++rows),
            onResume: (run) =>
              io.out(
                run.state === 'done'
                  ? `${path} was imported into account "${opts.account}" already (run ${run.id}); its report:`
                  : `resuming run ${run.id} (${run.state}) of importing ${path}; the file is not read again`,
              ),
          }).catch((err: unknown) => {
            progress.finish();
            if (err instanceof LinkFileError) io.fail(`${err.message} (rows before it were imported)`);
            throw err;
          });
          progress.finish();
          io.out(`imported ${path} into account "${opts.account}" (run ${result.runId})`);
          const summary = importSummary(result, skips, (clock.now() - started) / 1000);
          // A resumed run read its file when it was planned (another process): no rate to show.
          if (result.resumed) summary[0] = `read ${result.rows.toLocaleString('en-US')} rows (when the run was planned)`;
          for (const line of summary) io.out(line);
        });
      } finally {
        file.close();
      }
    });

  links
    .command('export')
    .description('write every link as CSV or JSON (to stdout unless --out)')
    .addOption(new Option('--format <format>', 'csv or json (default: from --out\'s extension, else csv)').choices(['csv', 'json']))
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--account <name>', 'only this account\'s links (default: every account\'s)')
    .addHelpText('after', EXPORT_HELP)
    .action(async (opts: { format?: ExportFormat; out?: string; account?: string }) =>
      runtime.withContainer(async (c, io) => {
        const accountId = opts.account === undefined ? undefined : (await actorFor(c, io, opts.account)).accountId;
        const format = opts.format ?? (opts.out?.toLowerCase().endsWith('.json') ? 'json' : 'csv');
        const pages = exportLinks(c.shortener, { accountId });
        if (opts.out === undefined) {
          const n = await writeLinks(pages, format, io.stdout);
          io.err(`exported ${n} links`);
          return;
        }
        const out = createWriteStream(opts.out);
        await once(out, 'open').catch((err: Error) => io.fail(`cannot write ${opts.out}: ${err.message}`));
        out.on('error', () => undefined); // reported by finished() below
        try {
          const n = await writeLinks(pages, format, out);
          out.end();
          await finished(out);
          io.out(`exported ${n} links to ${opts.out}`);
        } catch (err) {
          out.destroy();
          throw err;
        }
      }),
    );
}

/** The CLI acts as the named account (links are created as if its key had called the API). */
async function actorFor(c: Container, io: Io, name: string): Promise<Actor> {
  const account = await c.accounts.findAccountByName(name);
  if (!account) {
    const hint = name === ADMIN_ACCOUNT ? ' (`tny serve` creates it on first start)' : ' (`tny keys create --name NAME` creates accounts)';
    return io.fail(`no account is named "${name}"${hint}`);
  }
  return { accountId: account.id, isAdmin: account.isAdmin, keyId: 'cli' };
}
