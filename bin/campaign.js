#!/usr/bin/env node
// The `campaign` command. TypeScript sources run through tsx's loader, so there is
// no build step between a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
